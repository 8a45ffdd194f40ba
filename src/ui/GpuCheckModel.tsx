/**
 * One fixture model of the GPU check: a heading with its status, and a table of quantities (max abs error, max rel
 * error, tolerance, PASS/FAIL). The per-tensor rows of each prefix (grad/step1, after/stepN, final) are one summary
 * line that expands into the tensors.
 */
import { useState } from 'react';
import type { ModelCheckView } from '../store';
import type { CheckRow } from '../worker/client';
import { formatErr, groupCheckRows, groupSummary, type CheckItem } from './checkGroups';
import { formatBytes } from './format';

function Verdict({ pass }: { pass: boolean }) {
  return <td className={pass ? 'check-pass' : 'check-fail'}>{pass ? 'PASS' : 'FAIL'}</td>;
}

function RowLine({ row, label, detail }: { row: CheckRow; label: string; detail?: boolean }) {
  return (
    <tr data-quantity={row.quantity} data-pass={String(row.pass)} className={detail ? 'check-detail' : undefined}>
      <td className="check-quantity">{label}</td>
      <td className="num">{formatErr(row.maxAbs)}</td>
      <td className="num">{formatErr(row.maxRel)}</td>
      <td className="muted">{row.tolerance}</td>
      <Verdict pass={row.pass} />
    </tr>
  );
}

function GroupLines({ item, open, toggle }: { item: Extract<CheckItem, { kind: 'group' }>; open: boolean; toggle: () => void }) {
  return (
    <>
      <tr data-group={item.key} data-count={item.rows.length} data-failed={item.failed} data-pass={String(item.failed === 0)}>
        <td className="check-quantity">
          <button type="button" className="link" aria-expanded={open} onClick={toggle}>
            {open ? '▾' : '▸'} {groupSummary(item)}
          </button>
        </td>
        <td className="num">{formatErr(item.maxAbs)}</td>
        <td className="num">{formatErr(item.maxRel)}</td>
        <td className="muted">{item.tolerance}</td>
        <Verdict pass={item.failed === 0} />
      </tr>
      {open && item.rows.map((r) => <RowLine key={r.quantity} row={r} label={r.quantity.slice(item.key.length + 1)} detail />)}
    </>
  );
}

function statusLine(m: ModelCheckView, current: boolean): string {
  const failed = m.rows.filter((r) => !r.pass).length;
  const fetched = m.fetched ? ` · ${m.fetched.files} files, ${formatBytes(m.fetched.bytes)}, ${m.fetched.verified === 'sha256' ? 'sha256 verified' : 'sizes verified (sha256 needs a secure context)'}` : '';
  switch (m.status) {
    case 'waiting':
      return current ? 'fetching the fixtures…' : 'waiting';
    case 'running':
      return `running: ${m.rows.length} quantities so far${fetched}`;
    case 'done':
      return `${m.rows.length} quantities, ${failed === 0 ? 'all pass' : `${failed} FAIL`} in ${(m.seconds ?? 0).toFixed(1)} s${fetched}`;
    case 'error':
      return `could not be checked after ${m.rows.length} quantities: ${m.error ?? 'unknown error'}`;
  }
}

/** The table of one model. `current`: the check is working on this model (or about to fetch it). */
export function GpuCheckModel({ model, current }: { model: ModelCheckView; current: boolean }) {
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (key: string): void =>
    setOpen((s) => {
      const n = new Set(s);
      if (!n.delete(key)) n.add(key);
      return n;
    });
  const items = groupCheckRows(model.rows);
  return (
    <div className="check-model" data-testid={`gpu-check-model-${model.name}`} data-status={model.status}>
      <h3>
        {model.name} <span className={model.status === 'error' ? 'errors' : 'muted'}>— {statusLine(model, current)}</span>
      </h3>
      {items.length > 0 && (
        <table className="check-table">
          <thead>
            <tr>
              <th>quantity</th>
              <th className="num">max abs err</th>
              <th className="num">max rel err</th>
              <th>tolerance</th>
              <th>result</th>
            </tr>
          </thead>
          <tbody>
            {items.map((it) =>
              it.kind === 'row' ? (
                <RowLine key={it.row.quantity} row={it.row} label={it.row.quantity} />
              ) : (
                <GroupLines key={it.key} item={it} open={open.has(it.key)} toggle={() => toggle(it.key)} />
              ),
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}
