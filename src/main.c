/*
 * main.c - start-up only: hand argv to the command line in cli/.
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
    return gw_cli_main(argc, argv);
}
