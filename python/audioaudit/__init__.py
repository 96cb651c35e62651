"""Audio Audit from Python: load a model file made by aa-train and classify recordings with it.

    import audioaudit
    model = audioaudit.Model("model.aam")
    result = model.classify("clip.wav")            # a file, its bytes, or samples (with rate=)
    print(result["label"], result["confidence"])

The answers are those of aa-infer --json (the same C library computes them): the same keys, and
"class" is None when the gate withholds the decision (label "Unclear/Unknown").

Pure Python over libaudioaudit.so.0 (ctypes); numpy is optional (arrays are accepted when it is
installed). Errors raise AudioAuditError (or a subclass) with the library's one-line message.
A model says what it is for (Model.task, Model.is_respiratory): the results of a respiratory model carry
its disclaimer (Model.disclaimer, the "disclaimer" key, as in aa-infer --json); a general one has none.
"""

import array
import ctypes
import math
import os

from . import _build

__all__ = ["Model", "AudioAuditError", "ArgumentError", "NotFoundError", "ModelError", "AudioError",
           "UNCLEAR_LABEL", "library_version", "__version__"]

__version__ = "0.1.0"
UNCLEAR_LABEL = "Unclear/Unknown"

# ---- errors ------------------------------------------------------------------------------------------------

OK, ERR_ARG, ERR_NOMEM, ERR_NOT_FOUND, ERR_IO, ERR_MODEL, ERR_AUDIO, ERR_INTERNAL = range(8)


class AudioAuditError(Exception):
    """A failure the library reported: .code (one of the ERR_* values) and the message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class ArgumentError(AudioAuditError, ValueError):
    """A bad argument: a rate or channel count out of range, an unknown class."""


class NotFoundError(AudioAuditError, FileNotFoundError):
    """No such file (model or recording)."""


class ModelError(AudioAuditError):
    """Not a usable model file."""


class AudioError(AudioAuditError):
    """The recording cannot be used (not audio, empty, damaged, too long)."""


_ERRORS = {ERR_ARG: ArgumentError, ERR_NOT_FOUND: NotFoundError, ERR_MODEL: ModelError, ERR_AUDIO: AudioError,
           ERR_NOMEM: MemoryError}


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 512)]


def _raise(err):
    message = err.message.decode("utf-8", "replace")
    kind = _ERRORS.get(err.code, AudioAuditError)
    if kind is MemoryError:
        raise MemoryError(message)
    raise kind(err.code, message)


# ---- the library -------------------------------------------------------------------------------------------

def _candidates():
    env = os.environ.get("AUDIOAUDIT_LIBRARY")
    if env:
        yield env
        return
    yield _build.SONAME
    if _build.LIBDIR:
        yield os.path.join(_build.LIBDIR, _build.SONAME)
    # a checkout: python/audioaudit/ beside build/lib/
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "..", "..", "build", "lib", _build.SONAME)


def _open():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("audioaudit: cannot load the shared library (%s); set AUDIOAUDIT_LIBRARY to its path"
                      % "; ".join(errors))


_lib = _open()
_c = ctypes
_P = _c.c_void_p
_E = _c.POINTER(_Error)
_SIGS = {
    "version": (_c.c_char_p, []),
    "version_number": (_c.c_int, []),
    "strerror": (_c.c_char_p, [_c.c_int]),
    "model_load": (_P, [_c.c_char_p, _c.c_int, _E]),
    "model_load_memory": (_P, [_c.c_char_p, _c.c_size_t, _c.c_int, _E]),
    "model_free": (None, [_P]),
    "model_n_classes": (_c.c_int, [_P]),
    "model_class_name": (_c.c_char_p, [_P, _c.c_int]),
    "model_class_label": (_c.c_char_p, [_P, _c.c_int]),
    "model_min_confidence": (_c.c_double, [_P]),
    "model_class_threshold": (_c.c_double, [_P, _c.c_int]),
    "model_temperature": (_c.c_double, [_P]),
    "model_sample_rate": (_c.c_int, [_P]),
    "model_clip_seconds": (_c.c_double, [_P]),
    "model_workers": (_c.c_int, [_P]),
    "model_arch": (_c.c_char_p, [_P]),
    "model_aggregate": (_c.c_char_p, [_P]),
    "model_is_respiratory": (_c.c_int, [_P]),
    "model_task": (_c.c_char_p, [_P]),
    "model_disclaimer": (_c.c_char_p, [_P]),
    "model_settings": (_c.c_char_p, [_P]),
    "model_set_gate": (_c.c_int, [_P, _c.c_double, _E]),
    "model_selftest": (_c.c_int, [_P, _E]),
    "classify_file": (_P, [_P, _c.c_char_p, _E]),
    "classify_memory": (_P, [_P, _c.c_char_p, _c.c_size_t, _c.c_char_p, _E]),
    "classify_pcm": (_P, [_P, _P, _c.c_size_t, _c.c_int, _c.c_int, _E]),
    "result_free": (None, [_P]),
    "result_label": (_c.c_char_p, [_P]),
    "result_class": (_c.c_int, [_P]),
    "result_gated": (_c.c_int, [_P]),
    "result_confidence": (_c.c_double, [_P]),
    "result_n_classes": (_c.c_int, [_P]),
    "result_probability": (_c.c_double, [_P, _c.c_int]),
    "result_duration": (_c.c_double, [_P]),
    "result_windows": (_c.c_size_t, [_P]),
    "result_clip_start": (_c.c_double, [_P]),
    "result_quality": (_c.c_int, [_P]),
    "result_quality_name": (_c.c_char_p, [_P]),
    "result_quality_message": (_c.c_char_p, [_P]),
    "result_rms_dbfs": (_c.c_double, [_P]),
    "result_peak_dbfs": (_c.c_double, [_P]),
    "result_clipped_fraction": (_c.c_double, [_P]),
    "result_drift_score": (_c.c_double, [_P]),
    "result_drifted": (_c.c_int, [_P]),
    "timeline_file": (_P, [_P, _c.c_char_p, _c.c_double, _c.c_int, _c.c_char_p, _E]),
    "timeline_pcm": (_P, [_P, _P, _c.c_size_t, _c.c_int, _c.c_int, _c.c_double, _c.c_int, _c.c_char_p, _E]),
    "timeline_free": (None, [_P]),
    "timeline_windows": (_c.c_size_t, [_P]),
    "timeline_n_classes": (_c.c_int, [_P]),
    "timeline_hop": (_c.c_double, [_P]),
    "timeline_window_seconds": (_c.c_double, [_P]),
    "timeline_duration": (_c.c_double, [_P]),
    "timeline_probabilities": (_c.POINTER(_c.c_float), [_P]),
    "timeline_n_events": (_c.c_size_t, [_P]),
    "timeline_event": (_c.c_int, [_P, _c.c_size_t, _c.POINTER(_c.c_double), _c.POINTER(_c.c_double),
                                  _c.POINTER(_c.c_int), _c.POINTER(_c.c_double)]),
}


class _Functions:
    pass


_f = _Functions()
for _name, (_res, _args) in _SIGS.items():
    _fn = getattr(_lib, "audioaudit_" + _name)
    _fn.restype = _res
    _fn.argtypes = _args
    setattr(_f, _name, _fn)

if _f.version_number() // 10000 != int(__version__.split(".")[0]):
    raise ImportError("audioaudit: the shared library is version %s, this package %s"
                      % (_f.version().decode(), __version__))


def library_version():
    """The version of the C library loaded."""
    return _f.version().decode()


def _s(b):
    return None if b is None else b.decode("utf-8", "replace")


def _path(p):
    return os.fsencode(p)


# ---- samples -----------------------------------------------------------------------------------------------

def _samples(data, channels):
    """(keep-alive object, pointer, frames, channels) of interleaved float32 samples."""
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None and isinstance(data, np.ndarray):
        a = np.ascontiguousarray(data, dtype=np.float32)
        if a.ndim == 1:
            ch = channels or 1
        elif a.ndim == 2:
            if channels not in (None, a.shape[1]):
                raise ArgumentError(ERR_ARG, "channels=%d but the array has %d columns" % (channels, a.shape[1]))
            ch = a.shape[1]
        else:
            raise ArgumentError(ERR_ARG, "samples: an array of 1 or 2 dimensions (frames, channels), not %d"
                                % a.ndim)
        if a.size % ch:
            raise ArgumentError(ERR_ARG, "samples: %d values are not whole frames of %d channels" % (a.size, ch))
        return a, a.ctypes.data, a.size // ch, ch
    ch = channels or 1
    a = data if isinstance(data, array.array) and data.typecode == "f" else array.array("f", data)
    if len(a) % ch:
        raise ArgumentError(ERR_ARG, "samples: %d values are not whole frames of %d channels" % (len(a), ch))
    addr = a.buffer_info()[0] if len(a) else None
    return a, addr, len(a) // ch, ch


# ---- the model ---------------------------------------------------------------------------------------------

class Model:
    """A model file made by aa-train.

    Model(path) or Model(data=bytes); workers: classifications that may run at once from threads (the
    library is thread-safe; calls beyond that wait for a free worker)."""

    def __init__(self, path=None, workers=1, data=None):
        err = _Error()
        if (path is None) == (data is None):
            raise ArgumentError(ERR_ARG, "Model: give a path or data, not both or neither")
        if data is not None:
            data = bytes(data)
            h = _f.model_load_memory(data, len(data), workers, _c.byref(err))
        else:
            h = _f.model_load(_path(path), workers, _c.byref(err))
        if not h:
            _raise(err)
        self._h = h
        n = _f.model_n_classes(h)
        self.classes = [_s(_f.model_class_name(h, c)) for c in range(n)]
        self.labels = [_s(_f.model_class_label(h, c)) for c in range(n)]

    def close(self):
        """Frees the model now (it is freed when collected otherwise)."""
        h, self._h = getattr(self, "_h", None), None
        if h:
            _f.model_free(h)

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handle(self):
        if not self._h:
            raise ArgumentError(ERR_ARG, "the model is closed")
        return self._h

    # what the model knows
    @property
    def sample_rate(self):
        return _f.model_sample_rate(self._handle())

    @property
    def clip_seconds(self):
        return _f.model_clip_seconds(self._handle())

    @property
    def min_confidence(self):
        return _f.model_min_confidence(self._handle())

    @min_confidence.setter
    def min_confidence(self, p):
        err = _Error()
        if _f.model_set_gate(self._handle(), float(p), _c.byref(err)):
            _raise(err)

    @property
    def thresholds(self):
        """Per-class gates by class name (0: the global gate applies)."""
        return {c: _f.model_class_threshold(self._handle(), i) for i, c in enumerate(self.classes)}

    @property
    def temperature(self):
        return _f.model_temperature(self._handle())

    @property
    def arch(self):
        return _s(_f.model_arch(self._handle()))

    @property
    def aggregate(self):
        return _s(_f.model_aggregate(self._handle()))

    @property
    def task(self):
        """"respiratory" or "general", as the model file says (aa-train --task)."""
        return _s(_f.model_task(self._handle()))

    @property
    def is_respiratory(self):
        return bool(_f.model_is_respiratory(self._handle()))

    @property
    def disclaimer(self):
        """The text a respiratory model's results are shown with; None for a general model."""
        d = _f.model_disclaimer(self._handle())
        return None if d is None else _s(d)

    @property
    def settings(self):
        """The front end as stored in the file: {"sample_rate": "16000", "n_mels": "64", ...}."""
        text = _s(_f.model_settings(self._handle()))
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def selftest(self):
        """Recomputes the file's test signal with this build; raises ModelError when it differs."""
        err = _Error()
        if _f.model_selftest(self._handle(), _c.byref(err)):
            _raise(err)

    # classification
    def classify(self, source, rate=None, channels=None):
        """Classifies one recording: a path, the bytes of an audio file, or samples (a numpy array of
        shape (frames,) or (frames, channels), or a sequence of floats, interleaved when channels > 1)
        at `rate` Hz. Returns a dict with the keys of aa-infer --json."""
        h = self._handle()
        err = _Error()
        if rate is not None:
            keep, addr, frames, ch = _samples(source, channels)
            r = _f.classify_pcm(h, addr, frames, int(rate), ch, _c.byref(err))
            del keep
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            r = _f.classify_memory(h, data, len(data), b"recording in memory", _c.byref(err))
        elif isinstance(source, (str, os.PathLike)):
            r = _f.classify_file(h, _path(source), _c.byref(err))
        else:
            raise ArgumentError(ERR_ARG, "classify: samples need rate=; otherwise give a path or bytes")
        if not r:
            _raise(err)
        try:
            return self._result(r)
        finally:
            _f.result_free(r)

    def _result(self, r):
        n = _f.result_n_classes(r)
        gated = bool(_f.result_gated(r))
        verdict = _s(_f.result_quality_name(r))
        drifted = _f.result_drifted(r)  # -1: the model gives no drift verdict
        return {
            "label": _s(_f.result_label(r)),
            "class": None if gated else self.classes[_f.result_class(r)],
            "confidence": _f.result_confidence(r),
            "gated": gated,
            "probabilities": {self.labels[c]: _f.result_probability(r, c) for c in range(n)},
            "quality": {
                "verdict": verdict,
                "ok": verdict == "ok",
                "duration_s": _f.result_duration(r),
                "rms_dbfs": _f.result_rms_dbfs(r),
                "peak_dbfs": _f.result_peak_dbfs(r),
                "clipped_fraction": _f.result_clipped_fraction(r),
                "message": _s(_f.result_quality_message(r)),
            },
            "drift_score": None if drifted < 0 else _f.result_drift_score(r),
            "drifted": None if drifted < 0 else bool(drifted),
            "duration_s": _f.result_duration(r),
            "windows": _f.result_windows(r),
            "clip_start_s": _f.result_clip_start(r),
            **({"disclaimer": self.disclaimer} if self.is_respiratory else {}),
        }

    def timeline(self, source, rate=None, channels=None, hop=0.5, smooth=3, background=None):
        """aa-infer --timeline on a path or samples (with rate=): {"windows", "hop_s", "window_s",
        "duration_s", "probabilities" (one list per window, in the model's class order), "events":
        [{"start_s", "end_s", "label", "class", "confidence"}]}. background: the class that is never an
        event (None: background_noise when the model has it; "": none)."""
        h = self._handle()
        err = _Error()
        bg = None if background is None else background.encode()
        if rate is not None:
            keep, addr, frames, ch = _samples(source, channels)
            t = _f.timeline_pcm(h, addr, frames, int(rate), ch, float(hop), int(smooth), bg, _c.byref(err))
            del keep
        elif isinstance(source, (str, os.PathLike)):
            t = _f.timeline_file(h, _path(source), float(hop), int(smooth), bg, _c.byref(err))
        else:
            raise ArgumentError(ERR_ARG, "timeline: samples need rate=; otherwise give a path")
        if not t:
            _raise(err)
        try:
            n, k = _f.timeline_windows(t), _f.timeline_n_classes(t)
            p = _f.timeline_probabilities(t)
            probs = [[p[i * k + c] for c in range(k)] for i in range(n)]
            events = []
            s, e, conf, cls = _c.c_double(), _c.c_double(), _c.c_double(), _c.c_int()
            for i in range(_f.timeline_n_events(t)):
                _f.timeline_event(t, i, _c.byref(s), _c.byref(e), _c.byref(cls), _c.byref(conf))
                events.append({"start_s": s.value, "end_s": e.value, "label": self.labels[cls.value],
                               "class": self.classes[cls.value], "confidence": conf.value})
            return {"windows": n, "hop_s": _f.timeline_hop(t), "window_s": _f.timeline_window_seconds(t),
                    "duration_s": _f.timeline_duration(t), "probabilities": probs, "events": events}
        finally:
            _f.timeline_free(t)
