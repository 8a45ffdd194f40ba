/**
 * Entry point: restores the saved state (IndexedDB), starts persisting changes, asks the worker for the GPU, renders.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { hydrate, persistChanges, useStudio } from './store';
import { App } from './ui/App';
import './ui/styles.css';

async function start(): Promise<void> {
  const root = document.getElementById('root');
  if (!root) throw new Error('index.html has no #root element');
  await hydrate(useStudio);
  persistChanges(useStudio);
  void useStudio.getState().initGpu();
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void start();
