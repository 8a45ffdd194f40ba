#!/bin/sh
# npm run check:real-tools — runs what the studio exports through the tools users load it with (not in CI):
# PEFT (PeftModel, AutoPeftModelForCausalLM from another working directory, merge_and_unload), transformers (held-out
# loss of the Instruct, the merged and the grafted folders vs the studio's), torch full fine-tunes and PEFT LoRA tunes
# grafted by `shadowft graft`, mergekit on the unedited graft_mergekit.yaml, LLaMA-Factory's get_train_args and
# get_dataset on the unedited handoff. A tool that cannot be installed is skipped by name.
# Env: PYTHON (default python3), VENV (default .venv-real-tools), WORK (default .tmp/real-tools, recreated),
# BASE / INSTRUCT / TRAIN / HELDOUT (default: the demo pair and story-titles split under ../shared), STEPS (default 5).
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

if [ ! -x "$VENV/bin/python" ]; then "$PYTHON" -m venv "$VENV"; fi
PIP="$VENV/bin/pip"
echo "== python environment ($VENV)"
"$PIP" install -q torch transformers peft safetensors datasets >/dev/null
for tool in mergekit llamafactory; do
  if "$VENV/bin/python" -c "import $tool" 2>/dev/null || "$PIP" install -q "$tool" >/dev/null 2>&1; then echo "$tool: installed"; else echo "$tool: cannot be installed here (pip install $tool failed); its checks are skipped"; fi
done

rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
echo "== exports made by our CLI (in $WORK)"
npx shadowft train "$BASE" "$INSTRUCT" --train "$TRAIN" --heldout "$HELDOUT" --out "$WORK/train" --max-steps "$STEPS" 2>"$WORK/train.stderr" >/dev/null
grep -E "held-out loss of (instruct|instruct\+graft|base|base\+lora) " "$WORK/train/run.log" | sed 's/^[^ ]* /  /'
npx shadowft merge "$INSTRUCT" "$WORK/train/adapter" "$WORK/merged" 2>/dev/null >/dev/null
npx shadowft graft "$BASE" "$WORK/train/adapter" "$INSTRUCT" "$WORK/grafted-lora" 2>/dev/null >/dev/null
for t in lora full; do
  npx shadowft handoff "$BASE" "$INSTRUCT" --train "$TRAIN" --heldout "$HELDOUT" --out "$WORK/handoff-$t" --finetuning-type "$t" --max-steps "$STEPS" 2>/dev/null >/dev/null
done
echo "  train/adapter, merged/, grafted-lora/, handoff-lora/, handoff-full/"

exec "$VENV/bin/python" scripts/real_tools/check.py --work "$WORK" --base "$BASE" --instruct "$INSTRUCT" --heldout "$HELDOUT" --train "$TRAIN"
