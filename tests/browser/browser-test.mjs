// The web page in a real browser: Debian's headless Chromium driven by playwright-core.
//
//   node tests/browser/browser-test.mjs          (from the repository root; scripts/browser-test.sh sets it up)
//
// Environment:
//   AA_SERVE_CMD   the server to test, with {port} where the port goes
//                  (default: "build/aa-stub-server --port {port}"; later e.g.
//                  "build/aa-infer -m model.aam --serve --port {port}")
//   AA_CHROMIUM    the browser (default /usr/bin/chromium)
//   AA_OUT         where clips and screenshots go (default build/browser)
//
// It uploads a clip and checks the label and the bars against the JSON the server sent, drops a file on the
// page, records from Chromium's fake microphone (stopped by keyboard, then by the 10 s limit), checks the
// keyboard focus order and focus visibility, the phone-sized layout and its touch targets, an error shown
// for a bad upload, and that the console stays free of errors. Screenshots are saved under AA_OUT.
// With AA_TONE_SERVE_CMD (a server of the tests' tone model, whose events are known from the sound alone):
// a long upload is shown as a timeline with the known events, and "listen" with the fake microphone playing
// a long recording shows its events while it plays.
// Ends with "N passed, N failed"; the exit status is non-zero when anything failed.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const OUT = resolve(process.env.AA_OUT || 'build/browser');
const CHROMIUM = process.env.AA_CHROMIUM || '/usr/bin/chromium';
const SERVE_CMD = process.env.AA_SERVE_CMD || 'build/aa-stub-server --port {port}';
const TONE_SERVE_CMD = process.env.AA_TONE_SERVE_CMD || '';
mkdirSync(OUT, { recursive: true });

let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok    ${what}`);
  } else {
    failed++;
    console.log(`FAIL  ${what}${detail ? `: ${detail}` : ''}`);
  }
}

// ---- test audio -------------------------------------------------------------------------------------------

// A 16-bit mono WAV of `seconds` at `rate`: short noise bursts (cough-like) over a soft hum. Deterministic.
function makeWav(seconds, rate, extraBytes = 0) {
  const n = Math.round(seconds * rate);
  const buf = Buffer.alloc(44 + n * 2 + extraBytes);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2 + extraBytes, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 * 2 - 1; };
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const phase = t % 1.0; // a burst at the start of every second
    const env = phase < 0.25 ? Math.exp(-phase * 14) : 0;
    const v = 0.6 * env * rnd() + 0.05 * Math.sin(2 * Math.PI * 150 * t);
    buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), 44 + i * 2);
  }
  return buf; // trailing extraBytes stay zero: they only change the size
}

// The tone stand-ins of the demo classes (tests/util/demomodel.h): over a noise floor of 0.01, a 0.5 s tone
// of 1000 Hz is a cough, a long one of 2500 Hz heavy breathing, of 1600 Hz normal breathing; amplitude 0.3,
// 10 ms raised-cosine edges. events: [{start, len, cls}]. Deterministic.
const TONE_FREQ = [1000, 2500, 1600];
const TONE_LABELS = ['Cough', 'Heavy Breathing', 'Normal Breathing'];
function toneWav(seconds, rate, events) {
  const n = Math.round(seconds * rate);
  const x = new Float64Array(n);
  let seed = 777;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed + 1) / (2 ** 32 + 2); };
  for (let i = 0; i < n; i += 2) { // Box-Muller: two normal values a time
    const r = Math.sqrt(-2 * Math.log(rnd())), a = 2 * Math.PI * rnd();
    x[i] = 0.01 * r * Math.cos(a);
    if (i + 1 < n) x[i + 1] = 0.01 * r * Math.sin(a);
  }
  for (const e of events) {
    const s0 = Math.round(e.start * rate), len = Math.round(e.len * rate), edge = 0.010;
    for (let i = 0; i < len && s0 + i < n; i++) {
      const t = i / rate;
      const g = t < edge ? 0.5 - 0.5 * Math.cos(Math.PI * t / edge)
        : e.len - t < edge ? 0.5 - 0.5 * Math.cos(Math.PI * (e.len - t) / edge) : 1;
      x[s0 + i] += g * 0.3 * Math.sin(2 * Math.PI * TONE_FREQ[e.cls] * t);
    }
  }
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i] * 32767))), 44 + i * 2);
  return buf;
}

// ---- the server -------------------------------------------------------------------------------------------

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

async function startServer(template = SERVE_CMD) {
  const port = await freePort();
  const cmd = template.replaceAll('{port}', String(port));
  const proc = spawn('/bin/sh', ['-c', `exec ${cmd}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}): ${log.trim()}`);
    try {
      const r = await fetch(url + 'healthz');
      if (r.ok) return { proc, url };
    } catch (e) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGTERM');
  throw new Error(`server did not answer /healthz within 10 s: ${cmd}\n${log}`);
}

// ---- helpers on the page ---------------------------------------------------------------------------------

const pct = (p) => { const v = Math.max(0, Math.min(1, Number(p) || 0)) * 100; return v > 0 && v < 1 ? '<1%' : `${Math.round(v)}%`; };

// Waits for the next /api/classify answer and for the page to show it; returns the JSON.
async function nextResult(page, action, timeout = 15000) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/classify'), { timeout }),
    action(),
  ]);
  const json = await resp.json();
  await page.waitForFunction((want) => {
    const l = document.getElementById('label');
    return !document.getElementById('results').hidden && l && l.textContent === want;
  }, json.gated ? 'Unclear / Unknown' : json.label, { timeout: 5000 });
  return { json };
}

// The label, bars and verdict styling shown agree with the JSON.
async function checkShown(page, json, what) {
  const shown = await page.evaluate(() => ({
    label: document.getElementById('label').textContent,
    unclear: document.getElementById('verdict').classList.contains('unclear'),
    explain: !document.getElementById('explain').hidden,
    bars: [...document.querySelectorAll('#bars .bar-row')].map((li) => ({
      name: li.querySelector('.bar-name').textContent,
      value: li.querySelector('.bar-value').textContent,
      width: parseFloat(li.querySelector('.bar-fill').style.width),
      top: li.classList.contains('best'),
    })),
    resultsVisible: document.getElementById('results').getBoundingClientRect().height > 0,
    disclaimer: document.getElementById('disclaimer-result').textContent,
    disclaimerVisible: document.getElementById('disclaimer-result').getBoundingClientRect().height > 0,
    quality: document.getElementById('quality').hidden ? null : document.getElementById('quality-title').textContent,
    drift: document.getElementById('drift').getBoundingClientRect().height > 0,
    status: document.getElementById('status').textContent,
    melPixels: (() => {
      const c = document.getElementById('mel');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) lit += d[i + 3] > 0 && (d[i] + d[i + 1] + d[i + 2]) > 0 ? 1 : 0;
      return { w: c.width, h: c.height, lit };
    })(),
  }));
  const want = json.gated ? 'Unclear / Unknown' : json.label;
  check(shown.resultsVisible, `${what}: results shown`);
  check(shown.label === want, `${what}: label shown is the server's`, `${shown.label} vs ${want}`);
  check(shown.unclear === Boolean(json.gated) && shown.explain === Boolean(json.gated),
    `${what}: "Unclear" styled apart exactly when gated`, JSON.stringify({ gated: json.gated, shown: shown.unclear }));
  const probs = Object.entries(json.probabilities);
  check(shown.bars.length === probs.length, `${what}: one bar per class`, `${shown.bars.length} vs ${probs.length}`);
  const best = probs.reduce((a, b) => (b[1] > a[1] ? b : a));
  const barsOk = probs.every(([k, p], i) => {
    const b = shown.bars[i];
    // the bar's width is the probability in percent; 0.01 points covers float formatting
    return b && b.name === k && b.value === pct(p) && Math.abs(b.width - p * 100) < 0.01 && b.top === (k === best[0]);
  });
  check(barsOk, `${what}: bar names, values and widths match the probabilities`, JSON.stringify(shown.bars));
  check(shown.disclaimerVisible && /not a medical device/i.test(shown.disclaimer), `${what}: disclaimer beside the result`);
  const qBad = json.quality && json.quality.ok === false;
  check(Boolean(shown.quality) === qBad, `${what}: quality warning shown exactly when the clip is not ok`, String(shown.quality));
  check(shown.drift === (json.drifted === true), `${what}: drift warning shown exactly when the server says drifted`,
    JSON.stringify({ drifted: json.drifted, drift_score: json.drift_score, shown: shown.drift }));
  if (json.mel) {
    const m = shown.melPixels;
    check(m.w === json.mel.n_frames && m.h === json.mel.n_mels && m.lit === m.w * m.h,
      `${what}: spectrogram drawn (${m.w}x${m.h})`, JSON.stringify(m));
  }
  check(shown.status.startsWith('Result:'), `${what}: result announced in the live region`, shown.status);
}

// Chromium does not expose multipart bodies holding a Blob to the driver, so the page's fetch is wrapped
// (in the test only) to keep the header and size of the last file it sent.
const RECORD_UPLOADS = () => {
  const orig = window.fetch;
  window.fetch = async (url, opts) => {
    const f = opts && opts.body instanceof FormData ? opts.body.get('file') : null;
    if (f && typeof f.arrayBuffer === 'function') {
      const b = new Uint8Array(await f.arrayBuffer());
      window.__aaLastUpload = { name: f.name, size: b.length, head: Array.from(b.subarray(0, 44)) };
    }
    return orig(url, opts);
  };
};

// The WAV the page sent last: sample rate, channels, bits and seconds of audio (from its header).
async function lastWav(page) {
  const u = await page.evaluate(() => window.__aaLastUpload || null);
  if (!u || u.size < 44) return null;
  const h = Buffer.from(u.head);
  if (h.toString('latin1', 0, 4) !== 'RIFF' || h.toString('latin1', 8, 16) !== 'WAVEfmt ') return null;
  const rate = h.readUInt32LE(24);
  const channels = h.readUInt16LE(22);
  const bits = h.readUInt16LE(34);
  const dataBytes = h.readUInt32LE(40);
  const ok = dataBytes === u.size - 44;
  return { name: u.name, rate, channels, bits, seconds: dataBytes / (rate * channels * bits / 8), sizeMatches: ok };
}

// ---- the run ------------------------------------------------------------------------------------------------

async function main() {
  // stub answers depend on size % 5: this size gives a named class, the dropped one "Unclear"
  const plain = 44 + 2 * 32000; // 2 s at 16 kHz
  const clip = makeWav(2.0, 16000, (5 - (plain % 5)) % 5); // size % 5 == 0: "Cough" from the stub
  const clipPath = join(OUT, 'clip.wav');
  writeFileSync(clipPath, clip);
  const dropClip = makeWav(2.0, 16000, (4 - (plain % 5) + 5) % 5); // size % 5 == 4: "Unclear"
  const shortPath = join(OUT, 'short.wav');
  writeFileSync(shortPath, makeWav(0.3, 16000));
  const micPath = join(OUT, 'fake-mic.wav');
  writeFileSync(micPath, makeWav(3.0, 48000));

  const { proc, url } = await startServer();
  const profile = mkdtempSync(join(tmpdir(), 'aa-chromium-'));
  let context;
  const consoleErrors = [];
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${micPath}`,
      ],
    });
    await context.addInitScript(RECORD_UPLOADS);
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));

    // -- the page and its headers
    const nav = await page.goto(url);
    const h = nav.headers();
    check(nav.status() === 200, 'page served');
    check(/default-src 'none'/.test(h['content-security-policy'] || '') && !/http|\*/.test(h['content-security-policy']),
      'CSP allows nothing from elsewhere', h['content-security-policy']);
    check(h['x-content-type-options'] === 'nosniff', 'nosniff header');
    await page.waitForFunction(() => !/loading/.test(document.getElementById('model-info').textContent));
    check(await page.isVisible('#disclaimer-top'), 'a respiratory model: disclaimer visible before any result');
    check(/^Model: /.test(await page.textContent('#model-info')), 'model information shown', await page.textContent('#model-info'));

    // -- keyboard: focus order from the top, visible focus
    const order = [];
    const outlines = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      const f = await page.evaluate(() => {
        const a = document.activeElement;
        const cs = getComputedStyle(a);
        return { id: a.id, tag: a.tagName, outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 };
      });
      order.push(f.id || f.tag);
      outlines.push(f.outline);
    }
    check(order.slice(0, 3).join(',') === 'skip,choose,record', 'focus order: skip link, choose file, record', order.join(','));
    check(outlines.slice(0, 3).every(Boolean), 'focus is visible (outline >= 2px)', JSON.stringify(outlines));
    const controls = await page.evaluate(() => ['choose', 'record', 'stop'].map((id) => document.getElementById(id).tagName));
    check(controls.every((t) => t === 'BUTTON'), 'controls are buttons', controls.join(','));

    // -- upload through the file chooser
    const up = await nextResult(page, async () => {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#choose')]);
      await chooser.setFiles(clipPath);
    });
    await checkShown(page, up.json, 'upload');
    check(await page.evaluate(() => document.activeElement.id) === 'result-heading', 'upload: focus moves to the result');
    await page.screenshot({ path: join(OUT, 'desktop-result.png'), fullPage: true });

    // -- drag and drop a file of another size (an "Unclear" answer from the stub)
    const dropped = await nextResult(page, () => page.evaluate((bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'dropped.wav', { type: 'audio/wav' }));
      const zone = document.getElementById('drop-zone');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }
    }, [...dropClip]));
    await checkShown(page, dropped.json, 'drop');
    check(dropped.json.file === 'dropped.wav' || !('file' in dropped.json), 'drop: the file name reaches the server', dropped.json.file);
    if (dropped.json.gated) await page.screenshot({ path: join(OUT, 'desktop-unclear.png'), fullPage: true });

    // -- a clip too short to judge: the quality verdict is shown prominently
    const short = await nextResult(page, async () => {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#choose')]);
      await chooser.setFiles(shortPath);
    });
    await checkShown(page, short.json, 'short clip');
    check(short.json.quality.ok === true || await page.isVisible('#quality'), 'short clip: quality verdict visible',
      JSON.stringify(short.json.quality));
    await page.screenshot({ path: join(OUT, 'desktop-quality.png'), fullPage: true });

    // -- record from the fake microphone, started and stopped with the keyboard
    await page.focus('#record');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement.id === 'stop', null, { timeout: 5000 });
    check(true, 'record: Stop takes the focus while recording');
    await page.waitForFunction(() => parseFloat(document.getElementById('timer').textContent) >= 1.5, null, { timeout: 8000 });
    const shownTime = parseFloat(await page.textContent('#timer'));
    check(shownTime >= 1.5 && shownTime < 4, 'record: the timer runs', String(shownTime));
    await page.screenshot({ path: join(OUT, 'desktop-recording.png') });
    const recorded = await nextResult(page, () => page.keyboard.press('Enter'));
    await checkShown(page, recorded.json, 'record');
    const wav = await lastWav(page);
    check(wav && wav.channels === 1 && wav.bits === 16 && wav.sizeMatches && wav.name === 'recording.wav',
      'record: sent as 16-bit mono PCM WAV', JSON.stringify(wav));
    // stopped a little after the timer read >= 1.5 s: between 1 and 5 s of audio allows for a slow machine
    check(wav && wav.seconds > 1.0 && wav.seconds < 5.0, 'record: length follows the Stop press', JSON.stringify(wav));

    // -- record until the 10 s limit stops it
    const auto = await nextResult(page, () => page.click('#record'), 25000);
    const wav10 = await lastWav(page);
    // the page keeps exactly 10 s of samples; one sample of rounding either way
    check(wav10 && Math.abs(wav10.seconds - 10) <= 1 / wav10.rate, 'record: stops by itself at 10 s', JSON.stringify(wav10));
    check((await page.textContent('#timer')) === '10.0 s', 'record: timer shows 10.0 s at the end', await page.textContent('#timer'));
    await checkShown(page, auto.json, 'auto-stop');

    check(consoleErrors.length === 0, 'no console errors (desktop)', consoleErrors.join(' | '));

    // -- phone-sized screen, reduced motion
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.goto(url);
    const phone = await nextResult(page, async () => {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#choose')]);
      await chooser.setFiles(clipPath);
    });
    await checkShown(page, phone.json, 'phone');
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      targets: ['choose', 'record', 'stop'].map((id) => {
        const r = document.getElementById(id).getBoundingClientRect();
        return Math.min(r.width, r.height);
      }),
      transition: getComputedStyle(document.querySelector('.bar-fill')).transitionDuration,
    }));
    check(layout.scrollWidth <= 390, 'phone: no sideways scrolling', String(layout.scrollWidth));
    check(layout.targets.every((s) => s >= 44), 'phone: touch targets at least 44 px', JSON.stringify(layout.targets));
    check(layout.transition === '0s', 'reduced motion: no transitions', layout.transition);
    await page.screenshot({ path: join(OUT, 'phone-result.png'), fullPage: true });
    check(consoleErrors.length === 0, 'no console errors (phone)', consoleErrors.join(' | '));

    // -- a file that is not audio: a clear error, no result, the page still usable
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(url);
    const bad = join(OUT, 'not-audio.txt');
    writeFileSync(bad, 'hi\n');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#choose')]);
    const [badResp] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/classify')), chooser.setFiles(bad)]);
    await page.waitForSelector('#error:not([hidden])');
    const errText = await page.textContent('#error');
    check(badResp.status() >= 400 && errText.includes((await badResp.json()).error), 'bad upload: the server\'s reason is shown', errText);
    check(await page.isHidden('#results'), 'bad upload: no result shown');
    check(!(await page.isDisabled('#choose')), 'bad upload: the page stays usable');
    // the browser itself logs the 4xx as "Failed to load resource"; nothing else may appear
    const others = consoleErrors.filter((e) => !/Failed to load resource/.test(e));
    check(others.length === 0, 'no other console errors', others.join(' | '));
  } finally {
    if (context) await context.close();
    rmSync(profile, { recursive: true, force: true });
    proc.kill('SIGTERM');
  }
}

// The events the timeline shows, from its list (which says what the picture does).
const shownEvents = (page) => page.evaluate(() => [...document.querySelectorAll('#tl-events li')].map((li) => ({
  label: li.dataset.label, start: Number(li.dataset.start), end: Number(li.dataset.end),
  confidence: Number(li.dataset.confidence), ongoing: li.classList.contains('ongoing'), text: li.textContent,
})));

// Each known event [{start, len, cls}] is matched, in order, by one shown event of its label whose middle is
// within tol seconds of the known one's, and, for a sound at least a window long, its start and end too (a
// window places a shorter sound only to within its own length: the timeline then spans the centres of the
// windows that hold it, see infer/timeline.c); nothing else is shown. Returns a reason, or '' when all match.
function matchKnown(shown, known, tol, window = 4) {
  if (shown.length !== known.length) return `${shown.length} events shown, ${known.length} known: ${JSON.stringify(shown)}`;
  for (let i = 0; i < known.length; i++) {
    const k = known[i], e = shown[i];
    const midOk = Math.abs((e.start + e.end) / 2 - (k.start + k.len / 2)) <= tol;
    const edgesOk = k.len < window || (Math.abs(e.start - k.start) <= tol && Math.abs(e.end - (k.start + k.len)) <= tol);
    if (e.label !== TONE_LABELS[k.cls] || !midOk || !edgesOk) {
      return `event ${i}: ${JSON.stringify(e)} vs ${TONE_LABELS[k.cls]} ${k.start}-${k.start + k.len}`;
    }
  }
  return '';
}

async function launch(profile, micPath) {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${micPath}`,
      // the page keeps listening in a background tab as in a foreground one
      '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    ],
  });
}

// Upload a long recording -> a timeline of its known events; listen to the fake microphone playing one ->
// its events appear while it plays.
async function timelineTests() {
  // 40 s at 16 kHz: a cough, heavy breathing, a cough, normal breathing
  const longKnown = [{ start: 6, len: 0.5, cls: 0 }, { start: 13, len: 8, cls: 1 }, { start: 26, len: 0.5, cls: 0 },
    { start: 31, len: 6, cls: 2 }];
  const longPath = join(OUT, 'long-tones.wav');
  writeFileSync(longPath, toneWav(40, 16000, longKnown));
  // what the fake microphone plays: 26 s at 48 kHz, a cough at 6 s, heavy breathing from 12 to 19 s; the
  // cough is a second long, which the tone model hears with a margin (a 0.5 s burst is just over its gate,
  // and the browser's capture path may change the level a little)
  const micKnown = [{ start: 6, len: 1, cls: 0 }, { start: 12, len: 7, cls: 1 }];
  const micPath = join(OUT, 'listen-tones.wav');
  writeFileSync(micPath, toneWav(26, 48000, micKnown));

  const { proc, url } = await startServer(TONE_SERVE_CMD);
  const profile = mkdtempSync(join(tmpdir(), 'aa-chromium-'));
  const consoleErrors = [];
  let context;
  try {
    context = await launch(profile, micPath);
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => !/loading/.test(document.getElementById('model-info').textContent));

    // -- a long upload: sent to /api/timeline, shown as a timeline with the known events
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/timeline'), { timeout: 30000 }),
      (async () => {
        const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#choose')]);
        await chooser.setFiles(longPath);
      })(),
    ]);
    check(resp.status() === 200, 'long upload: answered by /api/timeline', String(resp.status()));
    const json = await resp.json();
    await page.waitForSelector('#timeline:not([hidden])', { timeout: 5000 });
    const shown = await shownEvents(page);
    const fromJson = json.events.map((e) => ({ label: e.label, start: e.start_s, end: e.end_s, confidence: e.peak_confidence }));
    check(JSON.stringify(shown.map(({ label, start, end, confidence }) => ({ label, start, end, confidence }))) === JSON.stringify(fromJson),
      'long upload: the events listed are the server\'s', JSON.stringify({ shown, fromJson }));
    // the timeline places each event within half a hop of its edges; 0.75 s covers the hop and a half
    const why = matchKnown(shown, longKnown, 0.75);
    check(!why, 'long upload: the timeline shows the known events (labels, order, times)', why);
    check(shown.every((e) => e.text.includes(e.label) && /\d+% confident/.test(e.text)),
      'long upload: each event with its label and confidence', JSON.stringify(shown.map((e) => e.text)));
    const canvas = await page.evaluate((evs) => {
      const c = document.getElementById('tl-canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const at = (x, y) => { const o = (Math.round(y) * c.width + Math.round(x)) * 4; return [d[o], d[o + 1], d[o + 2], d[o + 3]]; };
      const dur = 40;
      return {
        // the middle of each event's bar in the lane above the waveform is painted, between events it is not
        bars: evs.map((e) => at(((e.start + e.end) / 2 / dur) * c.width, 11)[3] > 0),
        gap: at((3 / dur) * c.width, 11)[3],
        // the waveform is drawn: painted pixels below the lane
        wave: (() => { let n = 0; for (let x = 0; x < c.width; x++) if (at(x, 22 + (c.height - 22) / 2)[3] > 0) n++; return n; })(),
        width: c.width,
      };
    }, shown);
    check(canvas.bars.every(Boolean) && canvas.gap === 0, 'long upload: each event drawn over the waveform', JSON.stringify(canvas));
    check(canvas.wave > canvas.width * 0.9, 'long upload: the waveform drawn', JSON.stringify(canvas));
    check(await page.isVisible('#disclaimer-timeline') && /not a medical device/i.test(await page.textContent('#disclaimer-timeline')),
      'long upload: disclaimer beside the timeline');
    check(await page.isVisible('#disclaimer-top'), 'long upload: disclaimer at the top stays');
    check(await page.isHidden('#results'), 'long upload: no clip result shown beside it');
    check(/^Timeline: 4 events/.test(await page.textContent('#status')), 'long upload: announced in the live region',
      await page.textContent('#status'));
    await page.screenshot({ path: join(OUT, 'desktop-timeline.png'), fullPage: true });

    // -- listen: the fake microphone plays micKnown; the events appear while it plays
    const posts = [];
    const answers = [];
    page.on('request', (r) => { if (r.url().includes('/api/timeline')) posts.push(r.url()); });
    page.on('response', async (r) => {
      if (r.url().includes('/api/timeline')) answers.push(`${r.status()} ${(await r.text()).slice(0, 400)}`);
    });
    const waitLabel = async (label, what) => {
      try {
        await page.waitForFunction((l) => [...document.querySelectorAll('#tl-events li')].some((li) => li.dataset.label === l),
          label, { timeout: 20000 });
        return true;
      } catch (e) {
        check(false, what, `${posts.length} chunks; note "${await page.textContent('#listen-note')}"; last answers: ${answers.slice(-2).join(' | ')}`);
        return false;
      }
    };
    await page.click('#listen');
    await page.waitForFunction(() => !document.getElementById('listen-stop').disabled, null, { timeout: 5000 });
    check(await page.evaluate(() => document.activeElement.id) === 'listen-stop', 'listen: Stop listening takes the focus');
    if (!(await waitLabel('Cough', 'listen: the cough appears'))) return;
    const coughWhile = await page.evaluate(() => ({
      live: !document.getElementById('listen-stop').disabled, note: document.getElementById('listen-note').textContent,
    }));
    check(coughWhile.live, 'listen: the cough appears while listening', JSON.stringify(coughWhile));
    if (!(await waitLabel('Heavy Breathing', 'listen: heavy breathing appears'))) return;
    const ongoing = await shownEvents(page);
    check(!(await page.isDisabled('#listen-stop')), 'listen: heavy breathing appears while listening', JSON.stringify(ongoing));
    await page.screenshot({ path: join(OUT, 'desktop-listen.png'), fullPage: true });
    // until the recording has played to 23 s (heavy breathing over), then stop
    await page.waitForFunction(() => parseFloat(document.getElementById('listen-note').textContent) >= 23, null, { timeout: 25000 });
    await page.click('#listen-stop');
    await page.waitForFunction(() => document.getElementById('listen-stop').disabled, null, { timeout: 5000 });
    const heard = await shownEvents(page);
    // Live times are rougher than a timeline's: a 6 s chunk places an event only to within its windows'
    // common part (about a window), and the fake microphone starts playing when the page opens it, give or
    // take the audio pipeline's start. So: the known events, in order, each shown event overlapping its own
    // known one (1 s to spare) and no longer than it by more than a window (4 s) and a hop on each side.
    const whyLive = heard.length !== micKnown.length ? `${heard.length} events: ${JSON.stringify(heard)}`
      : heard.map((e, i) => {
        const k = micKnown[i];
        return e.label === TONE_LABELS[k.cls] && e.start < k.start + k.len + 1 && e.end > k.start - 1 &&
          e.end - e.start <= k.len + 2 * 4.5 ? ''
          : `event ${i}: ${JSON.stringify(e)} vs ${TONE_LABELS[k.cls]} ${k.start}-${k.start + k.len}`;
      }).join('');
    check(!whyLive, 'listen: the events heard are the recording\'s (labels, order, near their times)', whyLive);
    console.log(`info  listen: heard ${heard.map((e) => `${e.label} ${e.start.toFixed(2)}-${e.end.toFixed(2)} s`).join(', ')}`);
    const intervals = posts.length >= 2 ? (posts.length - 1) : 0;
    check(posts.length >= 20 && posts.every((u) => /[?&]hop=0\.5&smooth=1$/.test(u)),
      'listen: chunks sent every half second with hop and smoothing', `${posts.length} posts, ${intervals} intervals, ${posts[0]}`);
    check(/Stopped listening: 2 events/.test(await page.textContent('#status')), 'listen: the end announced',
      await page.textContent('#status'));
    await page.screenshot({ path: join(OUT, 'desktop-listened.png'), fullPage: true });
    const others = consoleErrors.filter((e) => !/Failed to load resource/.test(e));
    check(others.length === 0, 'no console errors (timeline, listen)', others.join(' | '));
  } finally {
    if (context) await context.close();
    rmSync(profile, { recursive: true, force: true });
    proc.kill('SIGTERM');
  }
}

main().then(async () => {
  if (TONE_SERVE_CMD) await timelineTests();
  else console.log('skip  timeline and listening (no AA_TONE_SERVE_CMD: the tone model\'s server)');
}).catch((e) => {
  failed++;
  console.log(`FAIL  ${e && e.stack ? e.stack : e}`);
}).finally(() => {
  console.log(`screenshots: ${OUT}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
});
