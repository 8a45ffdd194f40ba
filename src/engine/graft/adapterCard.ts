/**
 * The adapter's model card, README.md, as PEFT's `save_pretrained` writes one (peft `peft_model.py`
 * create_or_update_model_card: YAML front matter with `base_model` = base_model_name_or_path, `library_name: peft`,
 * `pipeline_tag: text-generation` and the tags `base_model:adapter:<id>`, `lora`, `transformers`), with the LoRA and
 * training settings (stage dpo: its preference objective) and the Shadow-FT note: the LoRA was trained on the Base
 * and is applied to the Instruct unchanged (Shadow-FT §3.1, W_I′ = W_I + s·B·A).
 */
import { stringify } from 'yaml';
import { loraScaling, type LoraSettings } from '../model/loraTypes';
import type { TrainSettings } from '../train/types';
import { isBareFolderName } from './adapterBaseModel';

/** What the card says besides the LoRA settings. */
export interface AdapterCardInfo {
  /** base_model_name_or_path: the Instruct the adapter is applied to (Hub id, path or folder name). */
  readonly baseModelNameOrPath: string;
  /** The Base the LoRA was trained on (name, path or Hub id); absent when unknown. */
  readonly trainedOn?: string;
  /** The run's settings (absent: only the LoRA settings are listed). */
  readonly training?: TrainSettings;
  /** Optimizer steps done. */
  readonly steps?: number;
}

/** README.md text of an adapter folder (Markdown with YAML front matter, trailing newline). */
export function adapterModelCard(lora: LoraSettings, info: AdapterCardInfo): string {
  const id = info.baseModelNameOrPath;
  const front = stringify({ base_model: id, library_name: 'peft', pipeline_tag: 'text-generation', tags: [`base_model:adapter:${id}`, 'lora', 'transformers', 'shadow-ft'] }, { lineWidth: 0 });
  const t = info.training;
  const lines = [
    '---',
    front.trimEnd(),
    '---',
    '',
    `# Shadow-FT LoRA adapter for ${id}`,
    '',
    `Exported by Shadow-FT Studio. The LoRA was trained on the Base model${info.trainedOn ? ` \`${info.trainedOn}\`` : ''} with the Instruct's chat template and is applied, unchanged, to the Instruct model \`${id}\` (Shadow-FT, Wu et al. 2025, "Tuning Instruct via Base", §3.1: W_I′ = W_I + s·B·A). Base and Instruct share their architecture and tensor shapes, so the adapter fits both.`,
    '',
    '## Load',
    '',
    '```python',
    'from peft import AutoPeftModelForCausalLM',
    'model = AutoPeftModelForCausalLM.from_pretrained("PATH/TO/THIS/FOLDER")  # loads base_model_name_or_path, then the adapter',
    'merged = model.merge_and_unload()  # optional: W_I + s·B·A as plain weights',
    '```',
    '',
    isBareFolderName(id)
      ? `\`base_model_name_or_path\` in adapter_config.json is the folder name \`${id}\`: PEFT finds it only when run from the folder that contains it. Replace it with the Instruct's Hugging Face id or absolute path to load from anywhere.`
      : `PEFT loads \`${id}\` from any working directory.`,
    '',
    '## LoRA',
    '',
    `- r ${lora.r}, lora_alpha ${lora.alpha}${lora.useRslora ? ' (rsLoRA)' : ''}: scaling s = ${loraScaling(lora)}`,
    `- lora_dropout ${lora.dropout}; target_modules ${lora.targetModules.join(', ')}`,
    '- lora_A [r, in], lora_B [out, r], float32',
  ];
  if (t) {
    lines.push(
      '',
      '## Training settings',
      '',
      `- learning rate ${t.learningRate}, cosine schedule, warmup ratio ${t.warmupRatio}`,
      `- ${t.maxSteps > 0 ? `max steps ${t.maxSteps}` : `${t.epochs} epoch(s)`}${info.steps !== undefined ? ` (${info.steps} optimizer steps done)` : ''}; batch size ${t.batchSize} × gradient accumulation ${t.gradAccum}; max length ${t.maxLength} tokens`,
      `- AdamW β1 ${t.beta1}, β2 ${t.beta2}, ε ${t.adamEps}, weight decay ${t.weightDecay}; max grad norm ${t.maxGradNorm}; seed ${t.seed}`,
      t.stage === 'dpo'
        ? `- stage dpo: pref_loss ${t.prefLoss ?? 'sigmoid'}, pref_beta ${t.prefBeta ?? 0.1}, pref_ftx ${t.prefFtx ?? 0} on chosen/rejected pairs (batch size counts pairs); reference = the model without the adapter`
        : '- loss on assistant tokens only',
    );
  }
  lines.push('', '### Framework versions', '', '- Shadow-FT Studio (PEFT adapter format: adapter_config.json + adapter_model.safetensors)', '');
  return lines.join('\n');
}
