// Audio Audit page: pick, drop or record a clip, send it to /api/classify, show what comes back.
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
    verdict: $('verdict'), label: $('label'), confidence: $('confidence'), explain: $('explain'),
    bars: $('bars'), mel: $('mel'), melEnd: $('mel-end'), details: $('details'), modelInfo: $('model-info'),
  };
  const model = { gate: null, clipSeconds: 4 };
  let busy = false;
  let rec = null; // the recording in progress, see startRecording

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
    el.choose.disabled = on;
    el.record.disabled = on || !canRecord();
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

    drawMel(r.mel);

    // details
    const rows = [['File', r.file || name]];
    const dur = typeof r.duration_s === 'number' ? r.duration_s : q.duration_s;
    if (typeof dur === 'number') rows.push(['Duration', `${dur.toFixed(1)} s`]);
    if (typeof q.rms_dbfs === 'number') rows.push(['Loudness (RMS)', `${q.rms_dbfs.toFixed(1)} dBFS`]);
    if (typeof q.peak_dbfs === 'number') rows.push(['Peak', `${q.peak_dbfs.toFixed(1)} dBFS`]);
    if (typeof q.clipped_fraction === 'number') rows.push(['Clipped samples', `${(q.clipped_fraction * 100).toFixed(2)}%`]);
    rows.push(['Quality', q.verdict ? String(q.verdict).replace(/_/g, ' ') : 'unknown']);
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
    const said = gated
      ? `Result: Unclear / Unknown${best ? `; best guess ${best[0]} at ${pct(best[1])}` : ''}.`
      : `Result: ${r.label}, ${pct(r.confidence)} confident.`;
    setStatus(said + (qualityBad ? ` ${el.qualityTitle.textContent}.` : ''));
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

  // ---- files: choose or drop -----------------------------------------------------------------------------

  el.choose.addEventListener('click', () => el.file.click());
  el.file.addEventListener('change', () => {
    const f = el.file.files && el.file.files[0];
    if (f) classify(f, f.name);
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
    if (f) classify(f, f.name);
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
    el.micNote.textContent = window.isSecureContext
      ? 'This browser cannot record audio here. Upload a file instead.'
      : 'Recording needs a secure page (https, or http://localhost). Upload a file instead.';
  }

  loadModel();
})();
