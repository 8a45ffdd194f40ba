/**
 * The studio page: numbered sections following the user's path — models & data, similarity, training, export,
 * graft a tuned Base, compare with conventional LoRA, try the models.
 */
import type { ReactNode } from 'react';
import { DropZone } from './DropZone';
import { ExportPanel } from './ExportPanel';
import { GraftTunedPanel } from './GraftTunedPanel';
import { HandoffPanel } from './HandoffPanel';
import { ModelsView } from './ModelsView';
import { SimilarityPanel } from './SimilarityPanel';
import { TrainPanel } from './TrainPanel';
import { ComparePanel } from './compare/ComparePanel';
import { TryItPanel } from './tryit/TryItPanel';
import { ResumePanel } from './ResumePanel';

function Section({ n, title, children }: { n: number; title: string; children: ReactNode }) {
  return (
    <section className="card" aria-labelledby={`section-${n}`}>
      <h2 id={`section-${n}`}>
        <span className="step-no">{n}</span> {title}
      </h2>
      {children}
    </section>
  );
}

/** The whole app. */
export function App() {
  return (
    <>
      <header>
        <h1>Shadow-FT Studio</h1>
        <p className="tagline">Train LoRA on the Base model, graft it onto the Instruct model — on your GPU, in your browser.</p>
      </header>
      <main>
        <Section n={1} title="Models and data">
          <DropZone />
          <ModelsView />
        </Section>
        <Section n={2} title="Similarity of Base and Instruct">
          <SimilarityPanel />
        </Section>
        <Section n={3} title="Train LoRA on Base">
          <ResumePanel />
          <TrainPanel />
          <HandoffPanel />
        </Section>
        <Section n={4} title="Export the graft">
          <ExportPanel />
        </Section>
        <Section n={5} title="Graft a tuned Base">
          <GraftTunedPanel />
        </Section>
        <Section n={6} title="Compare with conventional LoRA">
          <ComparePanel />
        </Section>
        <Section n={7} title="Try it">
          <TryItPanel />
        </Section>
      </main>
    </>
  );
}
