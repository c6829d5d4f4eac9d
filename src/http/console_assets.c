/*
 * console_assets.c - the console's style sheet and script as C strings:
 * compiled into the binary, so an installation has nothing more to find
 * and no page ever loads anything from elsewhere (no CDN, no build step).
 *
 * The script only adds to pages that work without it: a confirmation
 * before a dead letter is discarded, and an opt-in auto-refresh of the
 * page (remembered in the browser's localStorage).
 *
 * Colours: text #1a1a1a on #ffffff (contrast 17:1), links #0b4f8a (8:1),
 * buttons white on #0b4f8a (8:1), the danger button white on #a4161a
 * (7.6:1), warnings #7a4100 on #fff4e5 (7:1); focus is a 3 px outline.
 */
#include "http/console.h"

const char gw_console_css[] =
    "html{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:#1a1a1a;background:#fff;line-height:1.45}\n"
    "body{margin:0 auto;max-width:72rem;padding:0 1rem 2rem}\n"
    "header{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;"
    "border-bottom:2px solid #0b4f8a;padding:.5rem 0}\n"
    ".brand{font-weight:700;margin:0}\n"
    "nav ul{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;margin:0;"
    "padding:0}\n"
    "a{color:#0b4f8a}\n"
    "a[aria-current=page]{font-weight:700;text-decoration:none;"
    "border-bottom:3px solid #0b4f8a}\n"
    ":focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}\n"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem;min-width:50%}\n"
    "caption{text-align:left;font-weight:600;padding:.25rem 0}\n"
    "th,td{border:1px solid #767676;padding:.3rem .6rem;text-align:left;"
    "vertical-align:top}\n"
    "th{background:#eef3f8}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "button{font:inherit;color:#fff;background:#0b4f8a;border:0;"
    "border-radius:3px;padding:.3rem .8rem;cursor:pointer}\n"
    "button.danger{background:#a4161a}\n"
    "form.inline{display:inline;margin-right:.5rem}\n"
    ".notice{border-left:4px solid #0b4f8a;background:#eef3f8;"
    "padding:.5rem 1rem}\n"
    ".warn{color:#7a4100;background:#fff4e5}\n"
    ".js-only{display:none}\n"
    "html.js .js-only{display:block}\n"
    "footer{margin-top:2rem;border-top:1px solid #767676;font-size:.9rem}\n"
    ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;"
    "clip:rect(0 0 0 0);white-space:nowrap}\n";

const char gw_console_js[] =
    "'use strict';\n"
    "document.documentElement.classList.add('js');\n"
    "document.addEventListener('DOMContentLoaded', function () {\n"
    "  document.querySelectorAll('form[data-confirm]').forEach(function (f) {\n"
    "    f.addEventListener('submit', function (e) {\n"
    "      if (!window.confirm(f.getAttribute('data-confirm')))\n"
    "        e.preventDefault();\n"
    "    });\n"
    "  });\n"
    "  var box = document.getElementById('autorefresh');\n"
    "  if (!box) return;\n"
    "  var key = 'klasgw-console-autorefresh', timer = null;\n"
    "  function arm() {\n"
    "    if (timer) { clearTimeout(timer); timer = null; }\n"
    "    if (box.checked)\n"
    "      timer = setTimeout(function () { location.reload(); }, 15000);\n"
    "  }\n"
    "  try { box.checked = localStorage.getItem(key) === '1'; } catch (e) {}\n"
    "  box.addEventListener('change', function () {\n"
    "    try { localStorage.setItem(key, box.checked ? '1' : '0'); }\n"
    "    catch (e) {}\n"
    "    arm();\n"
    "  });\n"
    "  arm();\n"
    "});\n";
