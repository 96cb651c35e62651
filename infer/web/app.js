// Audio Audit page: pick, drop or record a clip, send it to /api/classify, show what comes back; a long
// recording goes to /api/timeline and is shown as events over its waveform; "listen" sends the microphone's
// last few seconds to /api/timeline every half second and shows the events as they happen.
// Everything runs in this page and talks only to the server that served it; no framework, no other origin.
'use strict';

(() => {
  const MAX_SECONDS = 10;
  const $ = (id) => document.getElementById(id);
  const el = {
    choose: $('choose'), file: $('file'), drop: $('drop-zone'),
    record: $('record'), stop: $('stop'), timer: $('timer'), dot: $('rec-dot'), progress: $('rec-progress'),
    micNote: $('mic-note'), status: $('status'), error: $('error'),
    results: $('results'), resultHeading: $('result-heading'), disclaimer: $('disclaimer-result'),
    quality: $('quality'), qualityTitle: $('quality-title'), qualityMessage: $('quality-message'),
    drift: $('drift'),
    verdict: $('verdict'), label: $('label'), confidence: $('confidence'), explain: $('explain'),
    bars: $('bars'), mel: $('mel'), melEnd: $('mel-end'), details: $('details'), modelInfo: $('model-info'),
    listen: $('listen'), listenStop: $('listen-stop'), listenNote: $('listen-note'),
    timeline: $('timeline'), tlHeading: $('timeline-heading'), tlDisclaimer: $('disclaimer-timeline'),
    tlSummary: $('tl-summary'), tlQuality: $('tl-quality'), tlQualityMessage: $('tl-quality-message'),
    tlCanvas: $('tl-canvas'), tlStart: $('tl-start'), tlEnd: $('tl-end'), tlEvents: $('tl-events'), tlNone: $('tl-none'),
  };
  const model = { gate: null, clipSeconds: 4 };
  let busy = false;
  let rec = null; // the recording in progress, see startRecording
  let live = null; // the listening in progress, see startListening

  // ---- small helpers ------------------------------------------------------------------------------------

  const pct = (p) => {
    const v = Math.max(0, Math.min(1, Number(p) || 0)) * 100;
    return v > 0 && v < 1 ? '<1%' : `${Math.round(v)}%`;
  };

  function setStatus(text) { el.status.textContent = text; }

  function showError(text) {
    el.error.hidden = !text;
    el.error.textContent = text || '';
  }

  function setBusy(on) {
    busy = on;
    el.choose.disabled = on || Boolean(live);
    el.record.disabled = on || Boolean(live) || !canRecord();
    el.listen.disabled = on || Boolean(live) || Boolean(rec) || !canRecord();
  }

  function canRecord() {
    return Boolean(window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  // ---- model information ----------------------------------------------------------------------------------

  async function loadModel() {
    try {
      const res = await fetch('api/model', { cache: 'no-store' });
      if (!res.ok) throw new Error(String(res.status));
      const m = await res.json();
      if (m.gate && typeof m.gate.min_confidence === 'number') model.gate = m.gate.min_confidence;
      if (typeof m.clip_seconds === 'number' && m.clip_seconds > 0) model.clipSeconds = m.clip_seconds;
      // The page's placeholders are the default front end's; a model trained with another one says its own.
      el.melEnd.textContent = `${model.clipSeconds} s`;
      if (m.n_mels > 0 && m.n_frames > 0) {
        el.mel.width = m.n_frames;
        el.mel.height = m.n_mels;
      }
      // Only a respiratory model speaks of medicine: its disclaimers are shown, the page says what it hears.
      const respiratory = m.task === 'respiratory';
      document.querySelectorAll('[data-respiratory]').forEach((e) => { e.hidden = !respiratory; });
      if (respiratory) document.title = 'Audio Audit — respiratory sound check';
      if (Array.isArray(m.labels) && m.labels.length > 1) {
        const names = m.labels.map((s) => s.toLowerCase());
        $('tagline').textContent = 'Listens to a short clip and says whether it sounds like ' +
          `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}.`;
      }
      const labels = Array.isArray(m.labels) ? m.labels.join(', ') : '';
      const parts = [];
      if (labels) parts.push(`classes: ${labels}`);
      if (m.sample_rate) parts.push(`${m.sample_rate / 1000} kHz`);
      if (m.clip_seconds) parts.push(`${m.clip_seconds} s clips`);
      if (model.gate !== null) parts.push(`answers "Unclear / Unknown" below ${pct(model.gate)} confidence`);
      el.modelInfo.textContent = `Model: ${parts.join(' · ')}.`;
    } catch (e) {
      el.modelInfo.textContent = 'Model information is not available.';
    }
  }

  // ---- sending a clip ---------------------------------------------------------------------------------------

  async function classify(blob, name) {
    if (busy) return;
    setBusy(true);
    showError(null);
    setStatus(`Analysing ${name}…`);
    try {
      const form = new FormData();
      form.append('file', blob, name);
      const res = await fetch('api/classify', { method: 'POST', body: form, cache: 'no-store' });
      const text = await res.text();
      let body = null;
      try { body = JSON.parse(text); } catch (e) { body = null; }
      if (!res.ok || !body || body.error) {
        const reason = body && body.error ? body.error : `the server answered ${res.status}`;
        setStatus('');
        showError(res.status === 413 ? `That file is too large: ${reason}` : `Could not analyse ${name}: ${reason}`);
        return;
      }
      render(body, name);
    } catch (e) {
      setStatus('');
      showError(`Could not reach the server (${e.message}). Is it still running?`);
    } finally {
      setBusy(false);
    }
  }

  // ---- showing a result ---------------------------------------------------------------------------------

  const QUALITY_TITLES = {
    too_short: 'Recording too short',
    silent: 'Recording is (almost) silent',
    clipped: 'Recording is too loud (clipped)',
  };
  const QUALITY_ADVICE = {
    too_short: 'There is less than half a second of sound. Record a few seconds.',
    silent: 'The microphone picked up almost nothing. Check it is on and move a little closer.',
    clipped: 'The sound overloaded the microphone. Move further away or speak/cough less close to it.',
  };

  function render(r, name) {
    const probs = r.probabilities && typeof r.probabilities === 'object' ? Object.entries(r.probabilities) : [];
    let best = null;
    for (const [k, v] of probs) if (!best || v > best[1]) best = [k, v];
    const gated = Boolean(r.gated);

    // the verdict
    el.verdict.classList.toggle('unclear', gated);
    el.label.textContent = gated ? 'Unclear / Unknown' : String(r.label);
    if (gated) {
      el.confidence.textContent = best ? `Best guess: ${best[0]}, ${pct(best[1])}` : '';
      const need = model.gate !== null ? ` (it needs ${pct(model.gate)})` : '';
      el.explain.textContent = 'The model is not confident enough to name one class' + need +
        '. A closer recording with less background noise usually helps.';
      el.explain.hidden = false;
    } else {
      el.confidence.textContent = `${pct(r.confidence)} confident`;
      el.explain.hidden = true;
    }

    // one bar per class, in the model's order, the most likely one marked
    el.bars.replaceChildren(...probs.map(([k, v]) => {
      const li = document.createElement('li');
      li.className = 'bar-row' + (best && k === best[0] ? ' best' : '');
      const nameEl = document.createElement('span');
      nameEl.className = 'bar-name';
      nameEl.textContent = k;
      const track = document.createElement('span');
      track.className = 'bar-track';
      track.setAttribute('aria-hidden', 'true');
      const fill = document.createElement('span');
      fill.className = 'bar-fill';
      fill.style.display = 'block';
      fill.style.width = `${Math.max(0, Math.min(1, Number(v) || 0)) * 100}%`;
      track.append(fill);
      const value = document.createElement('span');
      value.className = 'bar-value';
      value.textContent = pct(v);
      li.append(nameEl, track, value);
      return li;
    }));

    // recording quality, prominent when it is not ok
    const q = r.quality || {};
    const qualityBad = q.ok === false || (q.verdict && q.verdict !== 'ok');
    el.quality.hidden = !qualityBad;
    if (qualityBad) {
      el.qualityTitle.textContent = QUALITY_TITLES[q.verdict] || `Recording quality: ${q.verdict}`;
      el.qualityMessage.textContent = q.message || QUALITY_ADVICE[q.verdict] || '';
    }

    // drift, apart from quality: the recording is unlike the training data (null: the model does not judge it)
    const drifted = r.drifted === true;
    el.drift.hidden = !drifted;

    drawMel(r.mel);

    // details
    const rows = [['File', r.file || name]];
    const dur = typeof r.duration_s === 'number' ? r.duration_s : q.duration_s;
    if (typeof dur === 'number') rows.push(['Duration', `${dur.toFixed(1)} s`]);
    if (typeof q.rms_dbfs === 'number') rows.push(['Loudness (RMS)', `${q.rms_dbfs.toFixed(1)} dBFS`]);
    if (typeof q.peak_dbfs === 'number') rows.push(['Peak', `${q.peak_dbfs.toFixed(1)} dBFS`]);
    if (typeof q.clipped_fraction === 'number') rows.push(['Clipped samples', `${(q.clipped_fraction * 100).toFixed(2)}%`]);
    rows.push(['Quality', q.verdict ? String(q.verdict).replace(/_/g, ' ') : 'unknown']);
    if (typeof r.drift_score === 'number')
      rows.push(['Drift score', `${r.drift_score.toFixed(2)}${drifted ? ' (unlike the training recordings)' : ''}`]);
    el.details.replaceChildren(...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      return [dt, dd];
    }));

    el.disclaimer.hidden = !r.disclaimer;
    if (r.disclaimer) el.disclaimer.textContent = r.disclaimer;

    el.results.hidden = false;
    el.timeline.hidden = true;
    const said = gated
      ? `Result: Unclear / Unknown${best ? `; best guess ${best[0]} at ${pct(best[1])}` : ''}.`
      : `Result: ${r.label}, ${pct(r.confidence)} confident.`;
    setStatus(said + (qualityBad ? ` ${el.qualityTitle.textContent}.` : '') +
              (drifted ? ' The recording is unlike the training recordings.' : ''));
    el.resultHeading.focus();
  }

  // viridis, sampled at five stops and interpolated: perceptually even, readable for colour-blind eyes
  const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const LUT = (() => {
    const lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const x = (i / 255) * (STOPS.length - 1);
      const k = Math.min(STOPS.length - 2, Math.floor(x));
      const f = x - k;
      for (let c = 0; c < 3; c++) lut[i * 3 + c] = STOPS[k][c] + (STOPS[k + 1][c] - STOPS[k][c]) * f;
    }
    return lut;
  })();

  function drawMel(mel) {
    const ctx = el.mel.getContext('2d');
    if (!mel || !mel.data || !(mel.n_mels > 0) || !(mel.n_frames > 0)) {
      ctx.clearRect(0, 0, el.mel.width, el.mel.height);
      return;
    }
    const bin = atob(mel.data);
    const nm = mel.n_mels, nf = mel.n_frames;
    if (bin.length < nm * nf) return;
    el.mel.width = nf;
    el.mel.height = nm;
    const img = ctx.createImageData(nf, nm);
    for (let m = 0; m < nm; m++) {
      const row = nm - 1 - m; // low bands at the bottom
      for (let t = 0; t < nf; t++) {
        const v = bin.charCodeAt(m * nf + t);
        const o = (row * nf + t) * 4;
        img.data[o] = LUT[v * 3];
        img.data[o + 1] = LUT[v * 3 + 1];
        img.data[o + 2] = LUT[v * 3 + 2];
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    el.melEnd.textContent = `${model.clipSeconds} s`;
    el.mel.setAttribute('aria-label',
      `Log-mel spectrogram: ${nm} mel bands by ${nf} frames, ${mel.min_db} to ${mel.max_db} dB`);
  }

  // ---- long recordings: the timeline ---------------------------------------------------------------------

  // A file longer than this is shown as a timeline rather than judged as one clip.
  const LONG_SECONDS = MAX_SECONDS;
  // Listening: the seconds sent each time (the model's clip and a few hops more), and how often.
  const LISTEN_EXTRA_SECONDS = 2;
  const LISTEN_EVERY_MS = 500;
  const LISTEN_HOP = 0.5;
  const LISTEN_VIEW_SECONDS = 30; // the waveform shows the last 30 s while listening
  // Files decoded in the page to draw their waveform, at most this large (a decoded hour is gigabytes).
  const DECODE_MAX_BYTES = 64 * 1024 * 1024;
  // colours of the event classes, in the order they first appear; readable on light and dark
  const EVENT_COLOURS = ['#d1495b', '#2e86ab', '#edae49', '#66a182', '#8d6cab', '#00798c'];
  const colourOf = (() => {
    const seen = new Map();
    return (label) => {
      if (!seen.has(label)) seen.set(label, EVENT_COLOURS[seen.size % EVENT_COLOURS.length]);
      return seen.get(label);
    };
  })();

  // Duration and samples (channel 0) of a file, or null when the browser cannot decode it.
  async function decodeFile(file) {
    if (!file || file.size > DECODE_MAX_BYTES || typeof OfflineAudioContext !== 'function') return null;
    try {
      const ctx = new OfflineAudioContext(1, 1, 48000);
      const buf = await ctx.decodeAudioData(await file.arrayBuffer());
      return { duration: buf.duration, samples: buf.getChannelData(0), rate: buf.sampleRate };
    } catch (e) {
      return null; // the server decides: it reads more formats, and says why it cannot
    }
  }

  // A file: judged as a clip, or shown as a timeline when it is longer than LONG_SECONDS.
  async function analyse(file, name) {
    if (busy || live) return;
    setBusy(true);
    const audio = await decodeFile(file);
    setBusy(false);
    if (audio && audio.duration > LONG_SECONDS) return timelineOf(file, name, audio);
    return classify(file, name);
  }

  async function postTimeline(blob, name, query) {
    const form = new FormData();
    form.append('file', blob, name);
    const res = await fetch(`api/timeline${query || ''}`, { method: 'POST', body: form, cache: 'no-store' });
    const text = await res.text();
    let body = null;
    try { body = JSON.parse(text); } catch (e) { body = null; }
    if (!res.ok || !body || body.error) {
      const reason = body && body.error ? body.error : `the server answered ${res.status}`;
      const err = new Error(reason);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  async function timelineOf(file, name, audio) {
    if (busy) return;
    setBusy(true);
    showError(null);
    setStatus(`Following ${name} (${audio.duration.toFixed(0)} s)…`);
    try {
      const t = await postTimeline(file, name);
      const events = (Array.isArray(t.events) ? t.events : []).map((e) => ({
        start: e.start_s, end: e.end_s, label: String(e.label), confidence: e.peak_confidence, ongoing: false,
      }));
      renderTimeline({ events, from: 0, to: t.duration_s || audio.duration, audio, t, name });
      el.timeline.hidden = false;
      el.results.hidden = true;
      setStatus(`Timeline: ${events.length} event${events.length === 1 ? '' : 's'} in ${name}.`);
      el.tlHeading.focus();
    } catch (e) {
      setStatus('');
      if (e.status) showError(e.status === 413 ? `That file is too large: ${e.message}` : `Could not follow ${name}: ${e.message}`);
      else showError(`Could not reach the server (${e.message}). Is it still running?`);
    } finally {
      setBusy(false);
    }
  }

  const fmt = (s) => `${Number(s).toFixed(1)} s`;

  // Draws the waveform of [from, to) seconds and the events over it, and lists the events.
  function renderTimeline({ events, from, to, audio, t, name }) {
    const c = el.tlCanvas;
    const ctx = c.getContext('2d');
    const W = c.width, H = c.height, lane = 22;
    const span = Math.max(1e-6, to - from);
    const x = (sec) => ((sec - from) / span) * W;
    ctx.clearRect(0, 0, W, H);
    // the waveform: the range of each pixel column's samples
    const css = getComputedStyle(document.documentElement);
    ctx.fillStyle = css.getPropertyValue('--muted').trim() || '#5a6474';
    if (audio && audio.samples && audio.samples.length) {
      const mid = lane + (H - lane) / 2, half = (H - lane) / 2 - 2, off = audio.offset || 0;
      for (let px = 0; px < W; px++) {
        const a = Math.max(0, Math.floor((from + (px / W) * span - off) * audio.rate));
        const b = Math.min(audio.samples.length, Math.floor((from + ((px + 1) / W) * span - off) * audio.rate));
        let lo = 0, hi = 0;
        for (let i = a; i < b; i++) {
          const v = audio.samples[i];
          if (v < lo) lo = v; else if (v > hi) hi = v;
        }
        ctx.fillRect(px, mid - hi * half, 1, Math.max(1, (hi - lo) * half));
      }
    }
    // the events: a band over the waveform and a labelled bar in the lane above it
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (const e of events) {
      if (e.end < from || e.start > to) continue;
      const x0 = Math.max(0, x(e.start)), x1 = Math.min(W, Math.max(x(e.end), x(e.start) + 2));
      const col = colourOf(e.label);
      ctx.globalAlpha = 0.25;
      ctx.fillStyle = col;
      ctx.fillRect(x0, lane, x1 - x0, H - lane);
      ctx.globalAlpha = 1;
      ctx.fillRect(x0, 2, x1 - x0, lane - 4);
      ctx.fillStyle = '#fff';
      const text = `${e.label} ${pct(e.confidence)}`;
      if (ctx.measureText(text).width < x1 - x0 - 6) ctx.fillText(text, x0 + 3, lane / 2);
    }
    el.tlStart.textContent = fmt(from);
    el.tlEnd.textContent = fmt(to);
    c.setAttribute('aria-label', `Waveform from ${fmt(from)} to ${fmt(to)} with ${events.length} event${events.length === 1 ? '' : 's'}`);
    // the list, which says everything the picture does
    el.tlEvents.replaceChildren(...events.map((e) => {
      const li = document.createElement('li');
      li.dataset.label = e.label;
      li.dataset.start = String(e.start);
      li.dataset.end = String(e.end);
      li.dataset.confidence = String(e.confidence);
      if (e.ongoing) li.className = 'ongoing';
      const sw = document.createElement('span');
      sw.className = 'tl-swatch';
      sw.style.background = colourOf(e.label);
      sw.setAttribute('aria-hidden', 'true');
      li.append(sw, `${e.label}: ${fmt(e.start)} to ${e.ongoing ? 'now' : fmt(e.end)}, ${pct(e.confidence)} confident`);
      return li;
    }));
    el.tlNone.hidden = events.length > 0;
    if (t) {
      const parts = [`${name}: ${fmt(t.duration_s)}`, `windows of ${t.window_s} s every ${t.hop_s} s`];
      if (t.smooth > 1) parts.push(`probabilities averaged over ${t.smooth} windows`);
      el.tlSummary.textContent = `${parts.join(', ')}.`;
      const bad = t.quality && t.quality !== 'ok';
      el.tlQuality.hidden = !bad;
      if (bad) el.tlQualityMessage.textContent = `Recording quality: ${String(t.quality).replace(/_/g, ' ')}.`;
      if (t.disclaimer) el.tlDisclaimer.textContent = t.disclaimer;
    }
  }

  // ---- listening: the microphone in chunks ----------------------------------------------------------------

  // Merges the events of one chunk ([chunkStart, chunkEnd) s of the listening) into the running list. An
  // event of the same class that overlaps one already listed (or comes within a hop of it) is the same
  // event, and the list keeps the union of the two. A chunk is only a little longer than the model's window,
  // so it places a sound only to within the part its windows share (a window's length or so): live events
  // are approximate, the timeline of the same recording uploaded is the exact one. An event that reaches
  // the newest chunk's end is still going on.
  function mergeEvents(list, chunkEvents, chunkStart, chunkEnd) {
    for (const ce of chunkEvents) {
      const e = { start: chunkStart + ce.start_s, end: chunkStart + ce.end_s, label: String(ce.label),
        confidence: ce.peak_confidence };
      const ongoing = e.end > chunkEnd - LISTEN_HOP - 1e-6;
      const same = list.find((x) => x.label === e.label && e.start <= x.end + LISTEN_HOP && e.end >= x.start - LISTEN_HOP);
      if (!same) {
        list.push({ ...e, ongoing });
        continue;
      }
      same.start = Math.min(same.start, e.start);
      same.end = Math.max(same.end, e.end);
      same.confidence = Math.max(same.confidence, e.confidence);
      same.ongoing = ongoing;
    }
    // an event the latest chunk no longer reaches has ended
    for (const x of list) if (x.ongoing && x.end < chunkEnd - LISTEN_HOP) x.ongoing = false;
    list.sort((a, b) => a.start - b.start);
  }

  async function startListening() {
    if (busy || rec || live) return;
    showError(null);
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (e) {
      showError(e && e.name === 'NotAllowedError'
        ? 'Microphone access was refused. Allow it in the browser\'s site settings, or upload a file instead.'
        : `The microphone could not be opened (${e && e.message ? e.message : e}).`);
      return;
    }
    const ctx = new AudioContext();
    const rate = ctx.sampleRate;
    const L = { stream, ctx, node: null, rate, chunks: [], kept: 0, total: 0, events: [], inflight: false,
      timer: null, sent: 0, failures: 0, keep: Math.round((LISTEN_VIEW_SECONDS + model.clipSeconds + LISTEN_EXTRA_SECONDS) * rate) };
    live = L;
    try {
      await ctx.audioWorklet.addModule('recorder-worklet.js');
      const node = new AudioWorkletNode(ctx, 'aa-recorder', { numberOfOutputs: 1, outputChannelCount: [1] });
      node.port.onmessage = (e) => {
        L.chunks.push(e.data);
        L.kept += e.data.length;
        L.total += e.data.length;
        while (L.chunks.length > 1 && L.kept - L.chunks[0].length >= L.keep) L.kept -= L.chunks.shift().length;
      };
      ctx.createMediaStreamSource(stream).connect(node);
      node.connect(ctx.destination);
      L.node = node;
      await ctx.resume();
    } catch (e) {
      await release(L);
      live = null;
      showError(`Listening could not start (${e.message}).`);
      return;
    }
    setBusy(false);
    el.listen.classList.add('recording');
    el.listen.textContent = 'Listening…';
    el.listenStop.disabled = false;
    el.listenStop.focus();
    el.results.hidden = true;
    el.timeline.hidden = false;
    el.tlSummary.textContent = 'Listening: events appear as they happen.';
    el.tlQuality.hidden = true;
    renderLive(L);
    setStatus('Listening. Press Stop listening when done.');
    L.timer = setInterval(() => sendChunk(L), LISTEN_EVERY_MS);
  }

  // The last samples heard, at most n, and where they start (s since listening began).
  function lastSamples(L, n) {
    const take = Math.min(n, L.kept);
    const out = new Float32Array(take);
    let o = take;
    for (let i = L.chunks.length - 1; i >= 0 && o > 0; i--) {
      const c = L.chunks[i];
      const k = Math.min(o, c.length);
      out.set(c.subarray(c.length - k), o - k);
      o -= k;
    }
    return { samples: out, start: (L.total - take) / L.rate };
  }

  function renderLive(L) {
    const now = L.total / L.rate;
    const from = Math.max(0, now - LISTEN_VIEW_SECONDS);
    const view = lastSamples(L, Math.round((now - from) * L.rate));
    renderTimeline({ events: L.events, from, to: Math.max(now, from + 1),
      audio: { samples: view.samples, rate: L.rate, offset: view.start } });
  }

  async function sendChunk(L) {
    if (L.inflight || live !== L) return;
    const need = Math.round(model.clipSeconds * L.rate);
    if (L.total < need) { renderLive(L); return; } // a chunk shorter than the clip would be padded
    const { samples, start } = lastSamples(L, Math.round((model.clipSeconds + LISTEN_EXTRA_SECONDS) * L.rate));
    const end = start + samples.length / L.rate;
    L.inflight = true;
    try {
      const t = await postTimeline(encodeWav(samples, L.rate), 'listen.wav', `?hop=${LISTEN_HOP}&smooth=1`);
      if (live !== L) return;
      L.sent++;
      L.failures = 0;
      mergeEvents(L.events, Array.isArray(t.events) ? t.events : [], start, end);
      if (t.disclaimer) el.tlDisclaimer.textContent = t.disclaimer;
      const n = L.events.length;
      el.listenNote.textContent = `${fmt(end)} heard, ${n} event${n === 1 ? '' : 's'} so far.`;
      renderLive(L);
    } catch (e) {
      // one lost answer (a busy server says 503) is skipped; the next chunk covers the same seconds
      if (live === L && ++L.failures >= 5) {
        showError(`Listening stopped: ${e.message}`);
        stopListening();
      }
    } finally {
      L.inflight = false;
    }
  }

  async function stopListening() {
    const L = live;
    if (!L) return;
    live = null;
    clearInterval(L.timer);
    for (const x of L.events) x.ongoing = false;
    await release(L);
    el.listen.classList.remove('recording');
    el.listen.textContent = 'Start listening';
    el.listenStop.disabled = true;
    const n = L.events.length;
    const now = L.total / L.rate;
    const from = Math.max(0, now - LISTEN_VIEW_SECONDS);
    const view = lastSamples(L, Math.round((now - from) * L.rate));
    renderTimeline({ events: L.events, from, to: Math.max(now, from + 1),
      audio: { samples: view.samples, rate: L.rate, offset: view.start } });
    el.tlSummary.textContent = `Listened for ${fmt(now)}: ${n} event${n === 1 ? '' : 's'}.`;
    setBusy(false);
    setStatus(`Stopped listening: ${n} event${n === 1 ? '' : 's'} in ${fmt(now)}.`);
    el.tlHeading.focus();
  }

  el.listen.addEventListener('click', startListening);
  el.listenStop.addEventListener('click', stopListening);

  // ---- files: choose or drop -----------------------------------------------------------------------------

  el.choose.addEventListener('click', () => el.file.click());
  el.file.addEventListener('change', () => {
    const f = el.file.files && el.file.files[0];
    if (f) analyse(f, f.name);
    el.file.value = ''; // choosing the same file again still fires
  });

  let dragDepth = 0;
  el.drop.addEventListener('dragenter', (e) => { e.preventDefault(); dragDepth++; el.drop.classList.add('dragging'); });
  el.drop.addEventListener('dragover', (e) => { e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; });
  el.drop.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; el.drop.classList.remove('dragging'); } });
  el.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    dragDepth = 0;
    el.drop.classList.remove('dragging');
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) analyse(f, f.name);
    else showError('Nothing to analyse: drop an audio file.');
  });
  // a file dropped next to the box must not make the browser navigate away from the page
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  // ---- the microphone -------------------------------------------------------------------------------------

  function encodeWav(samples, rate) {
    const buf = new ArrayBuffer(44 + samples.length * 2);
    const v = new DataView(buf);
    const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
    str(0, 'RIFF'); v.setUint32(4, 36 + samples.length * 2, true); str(8, 'WAVE');
    str(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
    v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
    str(36, 'data'); v.setUint32(40, samples.length * 2, true);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      v.setInt16(44 + i * 2, s < 0 ? s * 32768 : s * 32767, true);
    }
    return new Blob([buf], { type: 'audio/wav' });
  }

  function showTimer(seconds) {
    const s = Math.min(MAX_SECONDS, seconds);
    el.timer.textContent = `${s.toFixed(1)} s`;
    el.progress.style.width = `${(s / MAX_SECONDS) * 100}%`;
  }

  async function startRecording() {
    if (busy || rec) return;
    showError(null);
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (e) {
      const why = e && e.name === 'NotAllowedError'
        ? 'Microphone access was refused. Allow it in the browser\'s site settings, or upload a file instead.'
        : e && e.name === 'NotFoundError' ? 'No microphone was found. Upload a file instead.'
          : `The microphone could not be opened (${e && e.message ? e.message : e}).`;
      showError(why);
      return;
    }
    const ctx = new AudioContext();
    const r = { stream, ctx, chunks: [], total: 0, max: Math.round(MAX_SECONDS * ctx.sampleRate), node: null,
      t0: performance.now(), tick: null, stopping: false, flushed: null };
    rec = r;
    const take = (block) => {
      if (r.total >= r.max) return;
      const part = block.length > r.max - r.total ? block.subarray(0, r.max - r.total) : block;
      r.chunks.push(part);
      r.total += part.length;
      if (r.total >= r.max) stopRecording();
    };
    try {
      const src = ctx.createMediaStreamSource(stream);
      if (ctx.audioWorklet && typeof AudioWorkletNode === 'function') {
        await ctx.audioWorklet.addModule('recorder-worklet.js');
        const node = new AudioWorkletNode(ctx, 'aa-recorder', { numberOfOutputs: 1, outputChannelCount: [1] });
        node.port.onmessage = (e) => {
          take(e.data);
          if (r.flushed && !(e.data.length === 4096)) r.flushed();
        };
        src.connect(node);
        node.connect(ctx.destination); // pulls the graph; the node writes silence
        r.node = node;
      } else {
        const node = ctx.createScriptProcessor(4096, 1, 1);
        node.onaudioprocess = (e) => take(new Float32Array(e.inputBuffer.getChannelData(0)));
        src.connect(node);
        node.connect(ctx.destination);
        r.node = node;
      }
      await ctx.resume();
    } catch (e) {
      await release(r);
      rec = null;
      showError(`Recording could not start (${e.message}).`);
      return;
    }
    el.record.disabled = true;
    el.record.classList.add('recording');
    el.record.textContent = 'Recording…';
    el.choose.disabled = true;
    el.stop.disabled = false;
    el.stop.focus();
    el.dot.classList.add('on');
    setStatus('Recording. Press Stop when done; it stops by itself at 10 seconds.');
    showTimer(0);
    r.tick = setInterval(() => showTimer((performance.now() - r.t0) / 1000), 100);
  }

  async function release(r) {
    clearInterval(r.tick);
    try { if (r.node) r.node.disconnect(); } catch (e) { /* already disconnected */ }
    r.stream.getTracks().forEach((t) => t.stop()); // the browser's microphone indicator goes off
    if (r.ctx.state !== 'closed') await r.ctx.close();
  }

  async function stopRecording() {
    const r = rec;
    if (!r || r.stopping) return;
    r.stopping = true;
    el.stop.disabled = true;
    el.dot.classList.remove('on');
    // the worklet holds up to one block not yet sent: ask for it, but do not wait long
    if (r.node && r.node.port && r.total < r.max) {
      await new Promise((resolve) => {
        r.flushed = resolve;
        r.node.port.postMessage('flush');
        setTimeout(resolve, 300);
      });
    }
    await release(r);
    rec = null;
    el.record.classList.remove('recording');
    el.record.textContent = 'Start recording';
    const samples = new Float32Array(r.total);
    let o = 0;
    for (const c of r.chunks) { samples.set(c, o); o += c.length; }
    showTimer(r.total / r.ctx.sampleRate);
    setBusy(false);
    if (r.total === 0) {
      showError('Nothing was recorded. Check the microphone and try again.');
      setStatus('');
      return;
    }
    await classify(encodeWav(samples, r.ctx.sampleRate), 'recording.wav');
  }

  el.record.addEventListener('click', startRecording);
  el.stop.addEventListener('click', stopRecording);

  if (!canRecord()) {
    el.record.disabled = true;
    el.listen.disabled = true;
    el.micNote.textContent = window.isSecureContext
      ? 'This browser cannot record audio here. Upload a file instead.'
      : 'Recording needs a secure page (https, or http://localhost). Upload a file instead.';
  }

  loadModel();
})();
