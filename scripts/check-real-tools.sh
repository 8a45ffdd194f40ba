#!/bin/sh
# npm run check:real-tools — runs what the studio exports through the tools users load it with (not in CI):
# PEFT (PeftModel, AutoPeftModelForCausalLM from another working directory, merge_and_unload), transformers (held-out
# loss of the Instruct, the merged and the grafted folders vs the studio's), torch full fine-tunes and PEFT LoRA tunes
# grafted by `shadowft graft`, mergekit on the unedited graft_mergekit.yaml, LLaMA-Factory's get_train_args and
# get_dataset on the unedited handoff; the same for stage dpo (`train --stage dpo`, `handoff --stage dpo`:
# scripts/real_tools/check_dpo.py). A tool that cannot be installed is skipped by name.
# Env: PYTHON (default python3), VENV (default .venv-real-tools), WORK (default .tmp/real-tools, recreated),
# BASE / INSTRUCT / TRAIN / HELDOUT (default: the demo pair and story-titles split under ../shared), STEPS (default 5),
# PREF_TRAIN / PREF_HELDOUT (default: story-titles-pref.*.trl.jsonl under ../shared), ONLY=dpo (the stage dpo checks only),
# FIXTURE (default ../shared/fixtures/gemma3-tiny; empty: none): a fixture model the engine trains an adapter on
# (scripts/real_tools/fixture-adapter.mjs) for PEFT + transformers.
# MERGEKIT_SRC / LLAMAFACTORY_SRC: a checkout of mergekit / LLaMA-Factory (outside this repo), installed into the venv
# with `pip install --no-deps -e` plus the dependencies the checks use (when unset: `pip install mergekit|llamafactory`,
# skipped by name when that fails). ANTLR4_PY_SRC: antlr4's runtime/Python3 at tag 4.9.3, for omegaconf (which
# LLaMA-Factory's YAML reading needs) when antlr4-python3-runtime 4.9.* is not installable.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv-real-tools}
WORK=${WORK:-.tmp/real-tools}
SHARED=${SHARED:-../shared}
BASE=$(cd "${BASE:-$SHARED/models/stories260K-base}" && pwd)
INSTRUCT=$(cd "${INSTRUCT:-$SHARED/models/stories260K-instruct}" && pwd)
TRAIN=${TRAIN:-$SHARED/datasets/story-titles.train.csv}
HELDOUT=${HELDOUT:-$SHARED/datasets/story-titles.heldout.alpaca.json}
STEPS=${STEPS:-5}
PREF_TRAIN=${PREF_TRAIN:-$SHARED/datasets/story-titles-pref.train.trl.jsonl}
PREF_HELDOUT=${PREF_HELDOUT:-$SHARED/datasets/story-titles-pref.heldout.trl.jsonl}
ONLY=${ONLY:-all}
FIXTURE=${FIXTURE-$SHARED/fixtures/gemma3-tiny}

if [ ! -x "$VENV/bin/python" ]; then "$PYTHON" -m venv "$VENV"; fi
PIP="$VENV/bin/pip"
echo "== python environment ($VENV)"
"$PIP" install -q torch transformers peft safetensors datasets >/dev/null
# Each package on its own, so one missing from the index does not stop the others; says which could not be installed.
pip_each() { for p in "$@"; do "$PIP" install -q "$p" >/dev/null 2>&1 || echo "  $p: not installable here"; done; }
from_src() { # TOOL DIR: editable install of a checkout, without its pinned dependencies
  if [ ! -d "$2" ]; then echo "$1: $2 is not a folder"; return 1; fi
  "$PIP" install -q --no-deps -e "$2" >/dev/null 2>&1 && echo "$1: installed from $2 (--no-deps)"
}
if [ -n "${MERGEKIT_SRC:-}" ]; then
  # What mergekit-yaml imports beyond torch/transformers/peft/safetensors/datasets; immutables, if missing, is stood
  # in for by scripts/real_tools/mergekit_compat (frozendict).
  from_src mergekit "$MERGEKIT_SRC" && pip_each pydantic networkx immutables frozendict sentencepiece protobuf click tqdm accelerate
fi
if [ -n "${LLAMAFACTORY_SRC:-}" ]; then
  if [ -n "${ANTLR4_PY_SRC:-}" ] && ! "$VENV/bin/python" -c "import antlr4" 2>/dev/null; then
    "$PIP" install -q --no-deps "$ANTLR4_PY_SRC" >/dev/null 2>&1 && echo "antlr4-python3-runtime: installed from $ANTLR4_PY_SRC"
  fi
  # What get_train_args / get_dataset import (omegaconf without deps: its antlr4 pin may not be in the index);
  # torchaudio and trl, if missing, get placeholders from scripts/real_tools/llamafactory_compat.
  from_src llamafactory "$LLAMAFACTORY_SRC" && pip_each matplotlib pyyaml einops && "$PIP" install -q --no-deps omegaconf >/dev/null 2>&1
fi
for tool in mergekit llamafactory; do
  if "$VENV/bin/python" -c "import $tool" 2>/dev/null || "$PIP" install -q "$tool" >/dev/null 2>&1; then echo "$tool: installed"; else echo "$tool: cannot be installed here (pip install $tool failed; set MERGEKIT_SRC / LLAMAFACTORY_SRC, docs/real-tools.md); its checks are skipped"; fi
done

rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
echo "== exports made by our CLI (in $WORK)"
if [ "$ONLY" != dpo ]; then
  npx shadowft train "$BASE" "$INSTRUCT" --train "$TRAIN" --heldout "$HELDOUT" --out "$WORK/train" --max-steps "$STEPS" 2>"$WORK/train.stderr" >/dev/null
  grep -E "held-out loss of (instruct|instruct\+graft|base|base\+lora) " "$WORK/train/run.log" | sed 's/^[^ ]* /  /'
  npx shadowft merge "$INSTRUCT" "$WORK/train/adapter" "$WORK/merged" 2>/dev/null >/dev/null
  npx shadowft graft "$BASE" "$WORK/train/adapter" "$INSTRUCT" "$WORK/grafted-lora" 2>/dev/null >/dev/null
  for t in lora full; do
    npx shadowft handoff "$BASE" "$INSTRUCT" --train "$TRAIN" --heldout "$HELDOUT" --out "$WORK/handoff-$t" --finetuning-type "$t" --max-steps "$STEPS" 2>/dev/null >/dev/null
  done
  echo "  train/adapter, merged/, grafted-lora/, handoff-lora/, handoff-full/"
fi
npx shadowft train "$BASE" "$INSTRUCT" --stage dpo --pref-beta 0.1 --train "$PREF_TRAIN" --heldout "$PREF_HELDOUT" --out "$WORK/train-dpo" --max-steps "$STEPS" --eval-steps 2 2>"$WORK/train-dpo.stderr" >/dev/null
grep -E "held-out preference metrics of " "$WORK/train-dpo/run.log" | sed 's/^[^ ]* /  /'
npx shadowft handoff "$BASE" "$INSTRUCT" --stage dpo --pref-beta 0.1 --train "$PREF_TRAIN" --heldout "$PREF_HELDOUT" --out "$WORK/handoff-dpo" --max-steps "$STEPS" 2>/dev/null >/dev/null
echo "  train-dpo/adapter, handoff-dpo/"

exec "$VENV/bin/python" scripts/real_tools/check.py --work "$WORK" --base "$BASE" --instruct "$INSTRUCT" --heldout "$HELDOUT" --train "$TRAIN" \
  --pref-train "$PREF_TRAIN" --pref-heldout "$PREF_HELDOUT" --pref-beta 0.1 --only "$ONLY" ${FIXTURE:+--fixture "$FIXTURE"}
