#!/usr/bin/env node
// console.js - drives klasgw's operator console in Debian's Chromium
// (headless, through the DevTools protocol with puppeteer-core; no browser
// is downloaded). Called by tests/e2e/test_console.sh once the gateway
// holds two dead letters for LV and LV answers again:
//
//   node console.js BASE OPS_CLIENT OTHER_CLIENT RETRY_ITEM DISCARD_ITEM
//                   SHOTS_DIR SENTINELS_FILE
//
// As the operator: both dead letters are listed with their last error;
// the retry button, pressed from the keyboard, queues one again and the
// page then shows it delivered (no dead letter left for it, LV reachable);
// the discard button asks first (the script's confirm dialog is accepted)
// and the item is gone. Every page, in Swedish and English, has its lang
// attribute, a heading, labels for every control, captions and header
// cells for every table, and holds none of the sentinels (patient data
// planted in the cases). Another client gets 403, as a page. Screenshots
// go to SHOTS_DIR for a person to look at; every assertion is on the DOM.
'use strict';

const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [base, ops, other, retryItem, discardItem, shots, sentinelsFile] =
    process.argv.slice(2);
const sentinels = fs.readFileSync(sentinelsFile, 'utf8').split('\n')
    .map((s) => s.trim()).filter((s) => s.length > 0);
const pages = ['/console/', '/console/peers', '/console/cases',
               '/console/audit'];

function fail(msg) {
    throw new Error(msg);
}

async function shot(page, name) {
    await page.screenshot({path: path.join(shots, name + '.png'),
                           fullPage: true});
}

// What every console page must have, and must not hold.
async function checkPage(page, url, lang) {
    const html = await page.content();
    for (const s of sentinels)
        if (html.includes(s))
            fail(`${url}: holds the planted patient value ${s}`);
    const facts = await page.evaluate(() => {
        const out = {lang: document.documentElement.lang,
                     h1: document.querySelectorAll('h1').length,
                     unlabelled: [], tables: [], buttons: []};
        for (const el of document.querySelectorAll(
                 'input:not([type=hidden]), select, textarea')) {
            const byFor = el.id &&
                document.querySelector(`label[for="${el.id}"]`);
            if (!byFor && !el.closest('label') &&
                !el.getAttribute('aria-label'))
                out.unlabelled.push(el.outerHTML);
        }
        for (const t of document.querySelectorAll('table'))
            if (!t.querySelector('caption') || !t.querySelector('th'))
                out.tables.push(t.id || t.outerHTML.slice(0, 80));
        for (const b of document.querySelectorAll('button'))
            if (b.textContent.trim() === '' || b.closest('form') === null)
                out.buttons.push(b.outerHTML);
        return out;
    });
    if (facts.lang !== lang)
        fail(`${url}: <html lang="${facts.lang}">, wanted ${lang}`);
    if (facts.h1 !== 1)
        fail(`${url}: ${facts.h1} h1 headings`);
    if (facts.unlabelled.length)
        fail(`${url}: controls without a label: ${facts.unlabelled}`);
    if (facts.tables.length)
        fail(`${url}: tables without caption or header cells: ${facts.tables}`);
    if (facts.buttons.length)
        fail(`${url}: buttons without text or form: ${facts.buttons}`);
}

async function text(page, sel) {
    return page.$eval(sel, (e) => e.textContent.trim());
}

async function main() {
    const browser = await puppeteer.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--headless=new', '--no-sandbox', '--disable-gpu',
               '--disable-dev-shm-usage', '--no-first-run',
               '--disable-extensions', '--proxy-server=direct://',
               '--proxy-bypass-list=*'],
    });
    try {
        const page = await browser.newPage();
        await page.setViewport({width: 1100, height: 800});
        await page.setExtraHTTPHeaders({'X-Klasgw-Client': ops});
        const dialogs = [];
        page.on('dialog', async (d) => {
            dialogs.push(d.message());
            await d.accept();
        });

        // The dead letters, with their last error.
        let resp = await page.goto(`${base}/console/?lang=en`);
        if (resp.status() !== 200)
            fail(`/console/: status ${resp.status()}`);
        for (const id of [retryItem, discardItem]) {
            const row = `#dead tr[data-item="${id}"]`;
            if (await page.$(row) === null)
                fail(`dead letter ${id} is not listed`);
            if ((await text(page, `${row} td[data-k=error]`)).length < 3)
                fail(`dead letter ${id}: no last error shown`);
        }
        if (Number(await text(page, 'tr[data-peer=lv] td[data-k=dead]')) < 2)
            fail('the LV row does not count the dead letters');
        await shot(page, '1-outbox-dead-letters');

        // Retry from the keyboard: focus the button, press Enter.
        const retry = `#dead tr[data-item="${retryItem}"] ` +
            'button[data-action=retry]';
        await page.focus(retry);
        await Promise.all([page.waitForNavigation(),
                           page.keyboard.press('Enter')]);
        if (await page.$('[data-k=notice][data-done=retry]') === null)
            fail('no notice after the retry');
        // Delivered: the item leaves the dead letters and the queue.
        let delivered = false;
        for (let i = 0; i < 60 && !delivered; i++) {
            const left = await page.$(`#dead tr[data-item="${retryItem}"]`);
            const pending = Number(await text(
                page, 'tr[data-peer=lv] td[data-k=pending]'));
            const inflight = Number(await text(
                page, 'tr[data-peer=lv] td[data-k=inflight]'));
            delivered = left === null && pending === 0 && inflight === 0;
            if (!delivered) {
                await new Promise((r) => setTimeout(r, 250));
                await page.goto(`${base}/console/?lang=en`);
            }
        }
        if (!delivered)
            fail(`item ${retryItem} was not delivered after the retry`);
        await shot(page, '2-outbox-after-retry');
        await page.goto(`${base}/console/peers?lang=en`);
        const state = await page.$eval('#reach tr[data-peer=lv] td[data-k=state]',
                                       (e) => e.dataset.state);
        if (state !== 'ok')
            fail(`LV's state after the delivery: ${state}, wanted ok`);
        if ((await text(page, '#reach tr[data-peer=lv] td[data-k=last-ok]')) ===
            'never')
            fail('LV has no last success after the delivery');
        await shot(page, '3-peers');

        // Discard asks first, then the item is gone.
        await page.goto(`${base}/console/?lang=sv`);
        const discard = `#dead tr[data-item="${discardItem}"] ` +
            'button[data-action=discard]';
        await Promise.all([page.waitForNavigation(), page.click(discard)]);
        if (dialogs.length !== 1 || !/Kasta posten/.test(dialogs[0]))
            fail(`the discard did not ask in Swedish first: ${dialogs}`);
        if (await page.$('[data-k=notice][data-done=discard]') === null)
            fail('no notice after the discard');
        if (await page.$(`#dead tr[data-item="${discardItem}"]`) !== null)
            fail(`item ${discardItem} is still listed after the discard`);
        if (Number(await text(page, 'tr[data-peer=lv] td[data-k=dead]')) !== 0)
            fail('dead letters left for LV after retry and discard');
        await shot(page, '4-outbox-after-discard');

        // The audit page's verification.
        await page.goto(`${base}/console/audit?lang=en`);
        await Promise.all([page.waitForNavigation(),
                           page.click('button[data-action=verify]')]);
        const outcome = await page.$eval('[data-k=verify]',
                                         (e) => e.dataset.outcome);
        if (outcome !== 'ok')
            fail(`audit verification: ${outcome}`);
        await shot(page, '5-audit');

        // Every page, both languages: structure, and no patient data.
        for (const lang of ['sv', 'en'])
            for (const p of pages) {
                resp = await page.goto(`${base}${p}?lang=${lang}`);
                if (resp.status() !== 200)
                    fail(`${p}: status ${resp.status()}`);
                await checkPage(page, p, lang);
            }
        await page.goto(`${base}/console/cases?lang=en`);
        if (await page.$('#refusals tr[data-rule]') === null)
            fail('no refusal counted on the cases page');
        await shot(page, '6-cases');

        // Anyone else: 403, as a page.
        const page2 = await browser.newPage();
        await page2.setExtraHTTPHeaders({'X-Klasgw-Client': other});
        resp = await page2.goto(`${base}/console/?lang=en`);
        if (resp.status() !== 403)
            fail(`a non-operator got ${resp.status()}, wanted 403`);
        if (await page2.$('[data-k=refusal][data-rc=EFORBIDDEN]') === null)
            fail('the 403 is not the console refusal page');
        if (await page2.$('#dead, #queues') !== null)
            fail('the 403 page shows the outbox');
        await checkPage(page2, '403', 'en');
        await shot(page2, '7-forbidden');
    } finally {
        await browser.close();
    }
}

main().then(() => {
    console.log('console.js: ok');
}, (e) => {
    console.error('FAIL: ' + e.message);
    process.exit(1);
});
