/**
 * LoRA types shared by the model, training, graft and IO code (PEFT LoraConfig fields, `lora/layer.py`): the target
 * modules, the hyper-parameters, the scaling and the trained weights. Types and pure functions only (no GPU).
 */

/** The seven decoder linears LoRA may target (PEFT target_modules names). */
export const TARGET_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type TargetModule = (typeof TARGET_MODULES)[number];

/** LoRA hyper-parameters (PEFT LoraConfig fields). */
export interface LoraSettings {
  /** r */
  readonly r: number;
  /** lora_alpha */
  readonly alpha: number;
  /** lora_dropout on the LoRA branch input (0 = none) */
  readonly dropout: number;
  /** use_rslora: scaling α/√r instead of α/r */
  readonly useRslora: boolean;
  readonly targetModules: readonly TargetModule[];
}

/** Scaling of the LoRA update: α/r, or α/√r with rsLoRA (PEFT lora/layer.py update_layer). */
export function loraScaling(l: Pick<LoraSettings, 'r' | 'alpha' | 'useRslora'>): number {
  return l.useRslora ? l.alpha / Math.sqrt(l.r) : l.alpha / l.r;
}

/** LoRA weights as trained, keyed by HF module path, e.g. "model.layers.0.self_attn.q_proj". */
export interface LoraModuleWeights {
  /** lora_A [r, in] f32 row-major */
  readonly a: Float32Array;
  /** lora_B [out, r] f32 row-major */
  readonly b: Float32Array;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** A trained adapter: settings plus weights per module path. */
export interface LoraAdapter {
  readonly settings: LoraSettings;
  readonly modules: ReadonlyMap<string, LoraModuleWeights>;
}
