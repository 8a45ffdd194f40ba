/**
 * The WebGPU adapter the worker trains on (vendor, architecture, isFallbackAdapter, features, limits), its errors,
 * and device loss (with a button that requests a new device).
 */
import { useStudio } from '../store';
import { formatBytes, formatInt } from './format';

/** GPU status line with details. */
export function GpuPanel() {
  const gpu = useStudio((s) => s.gpu);
  const initGpu = useStudio((s) => s.initGpu);
  if (gpu.status === 'pending') return <p className="gpu muted" data-testid="gpu-info">Requesting a WebGPU adapter…</p>;
  if (gpu.status === 'error' || gpu.status === 'lost' || !gpu.info) {
    return (
      <div className="gpu errors" role="alert" data-testid="gpu-info">
        {gpu.status === 'lost' ? 'The WebGPU device was lost: ' : 'WebGPU is not available: '}
        {gpu.error}{' '}
        <button type="button" onClick={() => void initGpu()}>
          Request a new device
        </button>
      </div>
    );
  }
  const { adapter: a, limits: l } = gpu.info;
  return (
    <details className="gpu" data-testid="gpu-info">
      <summary>
        GPU: {a.vendor || 'unknown vendor'} {a.architecture || ''} {a.description ? `(${a.description})` : ''}
        {a.isFallbackAdapter ? ' · fallback adapter (software, slow)' : ''} · max buffer {formatBytes(l.maxBufferSize)}
      </summary>
      <table>
        <tbody>
          <tr><td>isFallbackAdapter</td><td>{String(a.isFallbackAdapter)}</td></tr>
          <tr><td>maxBufferSize</td><td>{formatBytes(l.maxBufferSize)}</td></tr>
          <tr><td>maxStorageBufferBindingSize</td><td>{formatBytes(l.maxStorageBufferBindingSize)}</td></tr>
          <tr><td>maxStorageBuffersPerShaderStage</td><td>{l.maxStorageBuffersPerShaderStage}</td></tr>
          <tr><td>maxComputeWorkgroupStorageSize</td><td>{formatBytes(l.maxComputeWorkgroupStorageSize)}</td></tr>
          <tr><td>maxComputeInvocationsPerWorkgroup</td><td>{l.maxComputeInvocationsPerWorkgroup}</td></tr>
          <tr><td>maxComputeWorkgroupsPerDimension</td><td>{formatInt(l.maxComputeWorkgroupsPerDimension)}</td></tr>
          <tr><td>features</td><td>{a.features.join(', ') || 'none'}</td></tr>
        </tbody>
      </table>
    </details>
  );
}
