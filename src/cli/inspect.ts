/**
 * `npx shadowft inspect DIR [--json]`: validates a model folder exactly as dropping it in the app does
 * (app/loadModel.ts loadModelFolder: folder recognition, config.json, every safetensors header, tensor shapes against
 * the config, lm_head layout, chat template source) and prints what was found. `--json` prints
 * `{"model_type", "tensors", "lm_head": "tied"|"separate", "chat_template_source", "warnings": [..]}` on stdout.
 * An invalid folder throws (main.ts prints the error on stderr and exits 1). Imports no WGSL and no GPU code.
 */
import { parseArgs } from 'node:util';
import { loadModelFolder } from '../app/loadModel';
import { modelFilesFromDir } from '../node/files';
import type { Command } from './main';

/** What `inspect --json` prints. */
export interface InspectReport {
  readonly model_type: string;
  readonly tensors: number;
  readonly lm_head: 'tied' | 'separate';
  readonly chat_template_source: 'chat_template.jinja' | 'chat_template.json' | 'tokenizer_config.json' | null;
  readonly warnings: readonly string[];
}

/** The `inspect` command (see the file comment). */
export const inspectCommand: Command = {
  usage: 'inspect DIR [--json]   validate a model folder as a drop does (config, safetensors, lm_head, chat template)',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
    const [dir, extra] = positionals;
    if (!dir || extra !== undefined) throw new Error(`expected DIR, got ${positionals.length} positional argument(s)`);
    const m = await loadModelFolder(await modelFilesFromDir(dir));
    const report: InspectReport = { model_type: m.config.modelType, tensors: m.checkpoint.tensors.size, lm_head: m.lmHead, chat_template_source: m.chatTemplateSource, warnings: m.warnings };
    if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
    else {
      const c = m.config;
      process.stdout.write(
        [
          `${m.model.files.name}: ${c.modelType}, ${c.numLayers} layers, hidden ${c.hiddenSize}, vocab ${c.vocabSize}`,
          `${report.tensors} tensors in ${m.checkpoint.fileNames.join(', ')}`,
          `lm_head: ${m.lmHead === 'tied' ? 'tied to model.embed_tokens.weight' : 'separate tensor'}`,
          `chat template: ${m.chatTemplateSource ?? 'none'}`,
          ...m.warnings.map((w) => `warning: ${w}`),
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
};
