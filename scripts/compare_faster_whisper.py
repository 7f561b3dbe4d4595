#!/usr/bin/env python3
"""Word error rate and seconds per utterance of faster-whisper (CTranslate2) on English clips,
for comparison with attune's whisper.cpp engine on the same clips.

    compare_faster_whisper.py --model DIR --clips DIR/refs.tsv [--skip N] [--n N]
                              [--threads 2] [--compute-type int8] [--verbose]

--model is a CTranslate2 Whisper directory (model.bin, config.json, vocabulary.txt and
tokenizer.json; without tokenizer.json faster-whisper tries to download one from the
HuggingFace Hub). refs.tsv is tab-separated with a header line: column 0 the WAV file
(relative to the tsv's folder), column 2 the reference text. Clips are taken in file order,
like tests/speech_recognition.rs.

Decoding as close to src/stt/whisper.rs as faster-whisper allows: greedy (beam 1), English,
no timestamps, no context from previous text, no VAD. faster-whisper keeps its default
temperature fallback (with best_of 1), as its users run it; attune has none. The first clip
is decoded once, untimed, as a warm-up. WER uses the normalisation of src/stt/wer.rs.

Needs: Python 3, numpy, faster-whisper (standard-library `wave` reads the audio).
"""

import argparse
import os
import sys
import time
import wave

import numpy as np

SAMPLE_RATE = 16000

# --- word error rate: a line-by-line mirror of src/stt/wer.rs --------------------------------

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _is_alphanumeric(c):
    """Rust char::is_alphanumeric: Alphabetic or Numeric (Nd, Nl, No). Python's isalpha() lacks
    only Nl and Other_Alphabetic marks, isnumeric() covers No/Nl/Nd; close enough for English."""
    return c.isalpha() or c.isnumeric()


def normalise(text):
    """Lower-case words without punctuation; ASCII digits spelled out one by one."""
    spaced = []
    for c in text:
        if "0" <= c <= "9":  # char::to_digit(10) accepts ASCII digits only
            spaced.append(" " + DIGITS[ord(c) - ord("0")] + " ")
        elif _is_alphanumeric(c) or c == "'":
            spaced.append(c.lower())  # per char, like char::to_lowercase (no final-sigma rule)
        else:
            spaced.append(" ")
    words = (w.strip("'") for w in "".join(spaced).split())
    return [w for w in words if w]


def word_errors(reference, hypothesis):
    """Word-level edit distance and reference length, after normalise()."""
    r = normalise(reference)
    h = normalise(hypothesis)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r):
        cur = [i + 1] * (len(h) + 1)
        for j, hw in enumerate(h):
            sub = prev[j] + (rw != hw)
            cur[j + 1] = min(sub, prev[j + 1] + 1, cur[j] + 1)
        prev = cur
    return prev[len(h)], len(r)


def wer_percent(pairs):
    errors = words = 0
    for r, h in pairs:
        e, n = word_errors(r, h)
        errors += e
        words += n
    return 0.0 if words == 0 else 100.0 * errors / words


# --- audio -------------------------------------------------------------------------------------


def read_wav_16k_mono(path):
    """PCM WAV (8/16/24/32-bit integer, any rate and channel count) as float32 16 kHz mono."""
    with wave.open(path, "rb") as w:
        channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif width == 4:
        x = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    else:
        raise ValueError(f"{path}: unsupported sample width {width}")
    x = x.reshape(-1, channels).mean(axis=1).astype(np.float32)
    if rate != SAMPLE_RATE and len(x) > 0:
        n = int(round(len(x) * SAMPLE_RATE / rate))
        t = np.arange(n, dtype=np.float64) * (rate / SAMPLE_RATE)
        x = np.interp(t, np.arange(len(x), dtype=np.float64), x).astype(np.float32)
    return x


def read_refs(tsv):
    """(wav path, reference text) per data line of refs.tsv, in file order."""
    folder = os.path.dirname(os.path.abspath(tsv))
    clips = []
    with open(tsv, encoding="utf-8") as f:
        next(f, None)  # header
        for line in f:
            cols = line.rstrip("\r\n").split("\t")
            if len(cols) < 3 or not cols[0]:
                continue
            clips.append((os.path.join(folder, cols[0]), cols[2]))
    return clips


# --- main --------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="CTranslate2 Whisper model directory")
    ap.add_argument("--clips", required=True, help="refs.tsv (file<TAB>speaker<TAB>text)")
    ap.add_argument("--skip", type=int, default=0, help="skip the first N clips")
    ap.add_argument("--n", type=int, default=None, help="use at most N clips (default: all)")
    ap.add_argument("--threads", type=int, default=2, help="CTranslate2 cpu_threads")
    ap.add_argument("--compute-type", default="int8", help="int8, int8_float32, float32, ...")
    ap.add_argument("--verbose", action="store_true", help="print one line per clip")
    args = ap.parse_args()

    import faster_whisper
    from faster_whisper import WhisperModel

    if not os.path.isfile(os.path.join(args.model, "tokenizer.json")):
        sys.exit(f"{args.model}: no tokenizer.json (faster-whisper would try the HuggingFace Hub)")

    clips = read_refs(args.clips)[args.skip:]
    if args.n is not None:
        clips = clips[: args.n]
    if not clips:
        sys.exit("no clips selected")
    audio = [read_wav_16k_mono(p) for p, _ in clips]

    model = WhisperModel(
        args.model, device="cpu", compute_type=args.compute_type, cpu_threads=args.threads
    )

    def transcribe(pcm):
        segments, _info = model.transcribe(
            pcm,
            language="en",
            beam_size=1,
            best_of=1,  # one sample per fallback step, like greedy decoding
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()  # consumes the generator

    transcribe(audio[0])  # warm-up, untimed

    pairs, total = [], 0.0
    for (path, ref), pcm in zip(clips, audio):
        t = time.perf_counter()
        hyp = transcribe(pcm)
        dt = time.perf_counter() - t
        total += dt
        pairs.append((ref, hyp))
        if args.verbose:
            e, n = word_errors(ref, hyp)
            print(
                f"{os.path.basename(path)}\t{dt:.3f}s\t{len(pcm) / SAMPLE_RATE:.2f}s audio\t"
                f"{e}/{n} errors\tREF: {ref}\tHYP: {hyp}"
            )

    print(
        f"faster-whisper {faster_whisper.__version__} {args.compute_type} threads={args.threads}: "
        f"clips={len(pairs)} WER {wer_percent(pairs):.1f}% {total / len(pairs):.3f} s/utt"
    )


if __name__ == "__main__":
    main()
