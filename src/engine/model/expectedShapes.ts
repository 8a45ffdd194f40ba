/**
 * The tensors a config implies (HF names and shapes), and a check of a checkpoint against them, run when a model is
 * loaded so a file that contradicts its config.json is refused at drop time rather than when training starts.
 */
import type { Checkpoint } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import { isWeightDType } from '../../io/dtype';
import { tensorTable } from '../arch/tensors';
import { WeightShapeError } from './weights';

/** name → shape of every tensor the engine reads for `cfg` (the rows of arch/tensors.ts tensorTable). */
export function expectedTensorShapes(cfg: ModelConfig): Map<string, number[]> {
  return new Map(tensorTable(cfg).map((t) => [t.name, [...t.shape]]));
}

/**
 * Checks that every tensor the config implies is in the checkpoint with that shape and a float dtype.
 * @throws WeightShapeError naming the model, the first bad tensor, and the expected vs actual shape (or dtype)
 */
export function checkCheckpointShapes(cfg: ModelConfig, ckpt: Checkpoint): void {
  for (const [name, shape] of expectedTensorShapes(cfg)) {
    const loc = ckpt.tensors.get(name);
    if (!loc) throw new WeightShapeError(`${ckpt.modelName}: tensor ${name} is missing (config.json implies shape [${shape.join(', ')}])`);
    const got = loc.info.shape;
    if (got.length !== shape.length || got.some((v, i) => v !== shape[i]))
      throw new WeightShapeError(`${ckpt.modelName}: tensor ${name} has shape [${got.join(', ')}], but config.json implies [${shape.join(', ')}]`);
    if (!isWeightDType(loc.info.dtype)) throw new WeightShapeError(`${ckpt.modelName}: tensor ${name} has dtype ${loc.info.dtype}; expected F32, F16 or BF16`);
  }
}
