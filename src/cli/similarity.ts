/**
 * `npx shadowft similarity BASE_DIR INSTRUCT_DIR [--csv OUT.csv] [--json OUT.json]`: σ per tensor between a Base and
 * an Instruct model folder (Shadow-FT §2.3; engine/analysis/similarity.ts), streamed from disk with bounded memory.
 * Prints the summary on stdout, progress on stderr; writes the per-tensor table as CSV and/or the full report as JSON.
 * Imports no WGSL and no GPU code.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { computeSimilarity, type SigmaAggregate, type SimilarityReport } from '../engine/analysis/similarity';
import { similarityCsv } from '../engine/analysis/similarityCsv';
import { loadModelFolder } from '../app/loadModel';
import { modelFilesFromDir } from '../node/files';
import type { Command } from './main';
import { progressLine } from './progress';

const f = (x: number | null): string => (x === null ? 'n/a' : x.toPrecision(6));

function aggregateLines(title: string, a: SigmaAggregate): string[] {
  return [
    `${title}: ${a.nTensors} tensors, ${a.nParams.toLocaleString('en-US')} parameters`,
    `  mean σ (unweighted)      ${f(a.meanUnweighted)}`,
    `  mean σ (param-weighted)  ${f(a.meanParamWeighted)}`,
    `  min σ                    ${f(a.min?.sigma ?? null)}  ${a.min?.tensor ?? ''}`,
    `  max σ                    ${f(a.max?.sigma ?? null)}  ${a.max?.tensor ?? ''}`,
  ];
}

/** Human-readable summary of a σ report (what the command prints on stdout). */
export function similaritySummaryText(rep: SimilarityReport): string {
  const s = rep.summary;
  const lines = [
    `σ(Base, Instruct) = Σ|W_B − W_I| / (Σ|W_B| + Σ|W_I|) per tensor; Base ${rep.baseModel}, Instruct ${rep.instructModel}`,
    `paper figure (unweighted mean over model.layers.N tensors): ${f(s.paperFigure)}`,
    ...aggregateLines('layer tensors', s.layers),
    ...aggregateLines('all tensors', s.allTensors),
    'per layer (unweighted mean):',
    ...s.perLayer.map((l) => `  layer ${String(l.layer).padStart(3)}  ${f(l.meanUnweighted)}  (${l.nTensors} tensors)`),
  ];
  for (const r of rep.rows.filter((x) => x.layer === null)) lines.push(`non-layer ${r.module}: σ ${f(r.sigma)}`);
  if (rep.onlyInBase.length) lines.push(`only in Base: ${rep.onlyInBase.join(', ')}`);
  if (rep.onlyInInstruct.length) lines.push(`only in Instruct: ${rep.onlyInInstruct.join(', ')}`);
  for (const w of rep.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}

/** The `similarity` command (see the file comment); returns exit code 0, throws on bad arguments or folders. */
export const similarityCommand: Command = {
  usage: 'similarity BASE_DIR INSTRUCT_DIR [--csv OUT.csv] [--json OUT.json]   σ per tensor between Base and Instruct',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { csv: { type: 'string' }, json: { type: 'string' } } });
    const [baseDir, instructDir, extra] = positionals;
    if (!baseDir || !instructDir || extra !== undefined) throw new Error(`expected BASE_DIR INSTRUCT_DIR, got ${positionals.length} positional argument(s)`);
    // Loaded as a drop does, so lm_head is compared only when it is a tensor of its own in both (io/head.ts).
    const b = await loadModelFolder(await modelFilesFromDir(baseDir));
    const i = await loadModelFolder(await modelFilesFromDir(instructDir));
    for (const w of [...b.warnings, ...i.warnings]) process.stderr.write(`warning: ${w}\n`);
    const bar = progressLine('σ');
    const rep = await computeSimilarity(b.checkpoint, i.checkpoint, { tiedHead: b.lmHead === 'tied' || i.lmHead === 'tied', onProgress: (p) => bar.update(p.bytesDone, p.bytesTotal, p.tensor) });
    bar.end();
    process.stdout.write(similaritySummaryText(rep));
    if (values.csv) {
      await writeFile(values.csv, similarityCsv(rep));
      process.stderr.write(`wrote ${rep.rows.length} rows to ${values.csv}\n`);
    }
    if (values.json) {
      await writeFile(values.json, JSON.stringify(rep, null, 1) + '\n');
      process.stderr.write(`wrote the report to ${values.json}\n`);
    }
    return 0;
  },
};
