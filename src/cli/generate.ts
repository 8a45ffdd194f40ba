/**
 * `npx shadowft generate MODEL_DIR [--adapter DIR] --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-p P]
 * [--seed S] [--json]`: answers TEXT, a user message rendered with the model's chat template and the generation
 * prompt (app/generate.ts), with our WGSL engine and its KV cache (engine/generate). The folder is validated as a
 * drop is (app/loadModel.ts); a PEFT adapter (adapter_config.json + adapter_model.safetensors) is applied on the fly
 * after its keys and shapes are checked against the model (a misfit is refused naming the tensor), before any GPU
 * work. Greedy by default (temperature 0, as HF `do_sample=False`); stops on the model's EOS / end-of-turn ids.
 * Without --json the text streams to stdout as it comes and tokens/s goes to stderr; --json prints exactly
 * `{"prompt_ids": [...], "new_ids": [...], "text": "...", "stopped": true|false}` (new_ids without the stop token).
 */
import { parseArgs } from 'node:util';
import { loadModelFolder } from '../app/loadModel';
import { generateReply, replyPromptIds } from '../app/generate';
import type { GpuContext } from '../engine/gpu/context';
import { createGenerator, type Generator } from '../engine/generate/generate';
import { modelStopTokenIds } from '../engine/generate/stopTokens';
import { readAdapterFiles } from '../engine/graft/adapterFiles';
import { checkAdapterFilesAgainstModel } from '../engine/graft/adapterKeys';
import { checkAdapterFitsModel, loraParamsFromAdapter } from '../engine/model/loraFromAdapter';
import type { LoraAdapter } from '../engine/model/loraTypes';
import type { LoraParams } from '../engine/model/lora';
import { destroyGpuModel, makeGpuModel, type GpuModel } from '../engine/model/model';
import { loadModelWeights } from '../engine/model/weights';
import { loadChatTokenizer } from '../io/tokenizer/load';
import { modelFilesFromDir } from '../node/files';
import { createNodeGpuContext } from '../node/gpu';
import type { Command } from './main';

/** What `generate --json` prints. */
export interface GenerateJson {
  readonly prompt_ids: number[];
  readonly new_ids: number[];
  readonly text: string;
  readonly stopped: boolean;
}

/** Where the command gets its GPU: a fresh Node device it destroys at the end, or a given one (tests). */
export interface GenerateDeps {
  /** returns the context to use; `owned` true = destroy its device when done */
  gpu(): Promise<{ ctx: GpuContext; owned: boolean }>;
}

const USAGE = 'generate MODEL_DIR [--adapter DIR] --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S] [--json]   answer a prompt with the chat template on our WebGPU engine';

function num(v: string | undefined, name: string, dflt: number, ok: (n: number) => boolean, want: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new Error(`--${name} must be ${want}, got "${v}"`);
  return n;
}

/** Streams the decoded text: writes what is new since the last call (holds back an incomplete UTF-8 character). */
function streamer(decode: (ids: number[]) => string): (ids: number[]) => void {
  let printed = '';
  return (ids) => {
    const text = decode(ids);
    if (text.endsWith('\uFFFD')) return;
    if (text.startsWith(printed)) process.stdout.write(text.slice(printed.length));
    else process.stdout.write(text.slice(commonPrefix(text, printed)));
    printed = text;
  };
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * Runs the command with `deps` supplying the GPU (see the file comment).
 * @throws Error for bad arguments; ModelFolderError / TokenizerError for the model folder; AdapterError / LoraError
 *   naming the tensor for an adapter that does not fit; GenerateError / GPU errors while generating.
 */
export async function runGenerate(args: string[], deps: GenerateDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      adapter: { type: 'string' }, prompt: { type: 'string' }, 'max-new-tokens': { type: 'string' }, temperature: { type: 'string' },
      'top-p': { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean', default: false },
    },
  });
  const [dir, extra] = positionals;
  if (!dir || extra !== undefined) throw new Error(`expected MODEL_DIR, got ${positionals.length} positional argument(s); usage: npx shadowft ${USAGE}`);
  if (values.prompt === undefined) throw new Error('--prompt TEXT is required (the user message)');
  const settings = {
    maxNewTokens: num(values['max-new-tokens'], 'max-new-tokens', 128, (n) => Number.isInteger(n) && n >= 1, 'a positive integer'),
    temperature: num(values.temperature, 'temperature', 0, (n) => n >= 0, 'a number ≥ 0 (0 = greedy)'),
    topP: num(values['top-p'], 'top-p', 1, (n) => n > 0 && n <= 1, 'in (0, 1]'),
    seed: num(values.seed, 'seed', 0, (n) => Number.isInteger(n), 'an integer'),
  };
  const files = await modelFilesFromDir(dir);
  const loaded = await loadModelFolder(files);
  for (const w of loaded.warnings) process.stderr.write(`warning: ${files.name}: ${w}\n`);
  const cfg = loaded.config;
  const tok = await loadChatTokenizer(files);
  let adapter: LoraAdapter | null = null;
  if (values.adapter !== undefined) {
    const adapterFiles = await modelFilesFromDir(values.adapter);
    const keys = await checkAdapterFilesAgainstModel(adapterFiles, loaded.checkpoint);
    for (const w of keys.warnings) process.stderr.write(`warning: ${w}\n`);
    adapter = await readAdapterFiles(adapterFiles);
    checkAdapterFitsModel(cfg, adapter);
  }
  const stop = await modelStopTokenIds(files, cfg, tok);
  for (const w of stop.warnings) process.stderr.write(`warning: ${w}\n`);
  const promptLen = replyPromptIds(tok, values.prompt).length;
  const { ctx, owned } = await deps.gpu();
  let lora: LoraParams | null = null;
  let model: GpuModel | null = null;
  let gen: Generator | null = null;
  try {
    model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, loaded.checkpoint));
    gen = createGenerator(ctx, model, promptLen + settings.maxNewTokens);
    if (adapter) lora = loraParamsFromAdapter(ctx, cfg, adapter);
    const ids: number[] = [];
    const stream = values.json ? null : streamer((x) => tok.decode(x, true));
    const r = await generateReply(tok, gen, values.prompt, settings, {
      lora, stopIds: stop.ids,
      onToken: (id) => {
        ids.push(id);
        stream?.(ids);
      },
    });
    if (values.json) {
      const out: GenerateJson = { prompt_ids: r.promptIds, new_ids: r.newIds, text: r.text, stopped: r.stopped };
      process.stdout.write(JSON.stringify(out) + '\n');
    } else {
      process.stdout.write('\n');
      process.stderr.write(`${r.newIds.length} new tokens (${r.stopped ? 'stopped at a stop token' : 'max new tokens reached'}), ${r.tokensPerSec.toFixed(1)} tokens/s decode; prompt ${r.promptIds.length} tokens\n`);
    }
  } finally {
    gen?.destroy();
    lora?.destroy();
    if (model) destroyGpuModel(model);
    if (owned) ctx.device.destroy();
  }
  return 0;
}

/** The `generate` command on a fresh Node WebGPU device. */
export const generateCommand: Command = {
  usage: USAGE,
  run: (args) => runGenerate(args, { gpu: async () => ({ ctx: await createNodeGpuContext(), owned: true }) }),
};
