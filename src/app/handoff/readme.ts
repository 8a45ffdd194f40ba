/**
 * README.md and prepare_base.sh of the cluster handoff: the exact commands (POSIX shell, every path single-quoted so
 * spaces and non-ASCII names survive), run from inside the export folder (dataset_dir and output_dir are relative).
 */

import { mergekitOptions } from './recipe';

/** POSIX single-quoting: 'it'\''s' — safe for spaces, $, quotes and any UTF-8. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** What the README describes. */
export interface ReadmeInput {
  readonly baseModel: string;
  readonly instructModel: string;
  readonly finetuningType: 'lora' | 'full';
  /** The Base lacks the Instruct's chat template: prepare_base.sh makes a Base copy with the Instruct's tokenizer. */
  readonly prepareBase: boolean;
  /** Folder prepare_base.sh creates (relative). */
  readonly preparedBaseDir: string;
  readonly shadowOutput: string;
  readonly conventionalOutput: string;
  readonly hasHeldout: boolean;
  readonly template: string | undefined;
  readonly numTrain: number;
  readonly numHeldout: number;
  readonly totalSteps: number;
  readonly warmupSteps: number;
  readonly gradAccum: number;
  /** Where the export folder is (CLI: its absolute path); the app's zip leaves it to the user. */
  readonly exportDir?: string;
  /**
   * The model paths are only the dropped folders' names (the app, when its path fields were left empty): the
   * README then starts with the list of places to set them.
   */
  readonly bareModelNames?: boolean;
}

/** Tokenizer and template files copied from the Instruct by prepare_base.sh (when present). */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model', 'added_tokens.json', 'vocab.json', 'merges.txt', 'chat_template.jinja', 'chat_template.json'] as const;

/**
 * prepare_base.sh: a folder with symlinks to every Base file except the tokenizer/template files, which are copied
 * from the Instruct (so LLaMA-Factory trains the Base with the Instruct's chat template, as Shadow-FT does).
 */
export function prepareBaseScript(baseModel: string, instructModel: string, outDir: string): string {
  const skip = TOKENIZER_FILES.map((f) => `${f}`).join('|');
  return [
    '#!/bin/sh',
    '# Makes a Base folder that carries the Instruct tokenizer and chat template (Shadow-FT trains the Base with the',
    "# Instruct's template; LLaMA-Factory reads the template from model_name_or_path's tokenizer). Weights are symlinks.",
    'set -eu',
    `BASE=${shellQuote(baseModel)}`,
    `INSTRUCT=${shellQuote(instructModel)}`,
    `OUT=${shellQuote(outDir)}`,
    'mkdir -p "$OUT"',
    'for f in "$BASE"/*; do',
    '  name=$(basename "$f")',
    '  case "$name" in',
    `    ${skip}) ;;`,
    '    *) ln -sf "$(cd "$(dirname "$f")" && pwd)/$name" "$OUT/$name" ;;',
    '  esac',
    'done',
    `for name in ${TOKENIZER_FILES.join(' ')}; do`,
    '  if [ -e "$INSTRUCT/$name" ]; then cp "$INSTRUCT/$name" "$OUT/$name"; fi',
    'done',
    'echo "prepared $OUT"',
    '',
  ].join('\n');
}

/** The README text (Markdown). */
export function readmeText(r: ReadmeInput): string {
  const q = shellQuote;
  const lora = r.finetuningType === 'lora';
  const lines = [
    '# Shadow-FT run for LLaMA-Factory',
    '',
    `Exported by Shadow-FT Studio. Base: \`${r.baseModel}\`; Instruct: \`${r.instructModel}\`; ${lora ? 'LoRA' : 'full-parameter'} SFT on ${r.numTrain} training conversations${r.hasHeldout ? ` (${r.numHeldout} held out)` : ''}.`,
    '',
    'Files:',
    '- `train_shadow_base.yaml`: the Shadow-FT run (tune the Base with the Instruct\'s chat template).',
    '- `train_conventional_instruct.yaml`: the same recipe on the Instruct, for the comparison.',
    '- `data/dataset_info.json`, `data/train.json`' + (r.hasHeldout ? ', `data/heldout.json`' : '') + ': your data in LLaMA-Factory\'s ShareGPT layout.',
    `- \`graft_mergekit.yaml\`: mergekit task_arithmetic graft of the tuned Base, W_I + (W_B′ − W_B) in float32, one rounding: \`base_model\` is the Instruct (mergekit copies its config, tokenizer, chat template and generation_config), the tuned Base has weight 1 and the Base weight −1${lora ? '; the LoRA run\'s adapter is applied to the Base with mergekit\'s `BASE+ADAPTER` reference' : ''}.`,
    ...(r.prepareBase ? ['- `prepare_base.sh`: the Base lacks the Instruct\'s chat template; this makes a Base folder with the Instruct\'s tokenizer files.'] : []),
    '',
    ...(r.bareModelNames
      ? [
          `**Set the model paths first.** The studio only knew the dropped folders' names, so the files name the Base as \`${r.baseModel}\` and the Instruct as \`${r.instructModel}\`. Replace them with the paths (or Hugging Face ids) on the cluster in: \`model_name_or_path\` of \`train_shadow_base.yaml\` and \`train_conventional_instruct.yaml\`; \`base_model\` and both \`model\` entries of \`graft_mergekit.yaml\`${r.prepareBase ? '; `BASE` and `INSTRUCT` in `prepare_base.sh`' : ''}; the \`npx shadowft graft\` line below. (Or fill "Base path on the cluster" and "Instruct path" before exporting.)`,
        ]
      : ['If the models live elsewhere on the cluster, edit `model_name_or_path` in both YAMLs, the paths in `graft_mergekit.yaml`' + (r.prepareBase ? ', `BASE` and `INSTRUCT` in `prepare_base.sh`' : '') + ' and the `npx shadowft graft` line below.']),
    ...(lora && r.baseModel.includes('+') ? ['', `mergekit reads \`BASE+ADAPTER\` at the first \`+\`, and the Base path \`${r.baseModel}\` contains one: symlink the Base to a path without \`+\` and use that in \`graft_mergekit.yaml\`.`] : []),
    '',
    '## 1. Train (from inside this folder: dataset_dir and output_dir are relative)',
    '',
    '```sh',
    r.exportDir !== undefined ? `cd ${q(r.exportDir)}` : '# cd into this folder (where this README is) first',
    ...(r.prepareBase ? ['sh prepare_base.sh'] : []),
    'llamafactory-cli train train_shadow_base.yaml',
    'llamafactory-cli train train_conventional_instruct.yaml   # optional: the conventional baseline',
    '```',
    '',
    `Multi-GPU: \`FORCE_TORCHRUN=1 llamafactory-cli train train_shadow_base.yaml\`; add \`deepspeed: examples/deepspeed/ds_z3_config.json\` (from a LLaMA-Factory checkout) for ZeRO-3. The recipe's global batch (per_device_train_batch_size × gradient_accumulation_steps = ${r.gradAccum} accumulation step(s)) assumes one device: with N GPUs the global batch is N times larger, so lower per_device_train_batch_size or gradient_accumulation_steps (where divisible by N) to keep the same ${r.totalSteps} optimizer steps; warmup_steps (${r.warmupSteps}) is ceil(${r.totalSteps} × warmup ratio), as the studio counts it.`,
    '',
    r.template === undefined
      ? '`template` is left out on purpose: LLaMA-Factory then parses the tokenizer\'s own chat template (`parse_template`), which is the template the studio trains with. Check the first rendered example it logs.'
      : `\`template: ${r.template}\` was chosen by you as rendering exactly like the Instruct's chat template; the studio did not check that.`,
    '',
    '## 2. Graft the tuned Base onto the Instruct',
    '',
    lora
      ? `The LoRA run writes a PEFT adapter to \`${r.shadowOutput}\`. Graft it with the studio (section "Graft a tuned Base": drop Base, the adapter folder and Instruct) or in a shell:`
      : `The full run writes the tuned Base to \`${r.shadowOutput}\`. Graft it with the studio (section "Graft a tuned Base") or:`,
    '',
    '```sh',
    `npx shadowft graft ${q(r.baseModel)} ${q(r.shadowOutput)} ${q(r.instructModel)} ${q('grafted-instruct')}`,
    `mergekit-yaml graft_mergekit.yaml ${q('grafted-instruct-mergekit')}${lora ? ` ${mergekitOptions('lora')}` : ''}   # the same graft with mergekit`,
    '```',
    '',
    lora
      ? 'Both compute W_I + s·B·A (s = lora_alpha / lora_rank) in float32 and round once to the Instruct\'s dtype; `shadowft graft` reads the adapter folder as it is. mergekit needs `--lora-merge-cache` to apply an adapter (it saves the Base with the adapter merged there) and `--lora-merge-dtype float32` to merge it in float32 rather than in the Base\'s dtype (a second rounding).'
      : 'Both compute W_I + (W_B′ − W_B) for every tensor in float32 and round once to the Instruct\'s dtype. LLaMA-Factory saves a full tune in float32 (it upcasts trainable parameters) unless `pure_bf16` is set; the studio accepts float32 or the Base\'s own dtype.',
    '',
    'The studio checks that names, shapes and dtypes match and that the tuned model derives from this Base (closer to the Base than to the Instruct on most tensors it changed, and far closer to the Base than an unrelated model would be), and shows a heatmap of what tuning changed (σ per tensor, with CSV).',
    '',
  ];
  return lines.join('\n');
}
