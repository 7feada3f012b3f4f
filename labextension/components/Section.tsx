import * as React from 'react';

import { SECTION_TITLES, SectionId, Sections } from '../sections';

/** A foldable section of the panel; open or folded as the person last left it. */
export function Section(props: {
  id: SectionId;
  sections: Sections;
  /** A few words shown beside the title, also when folded (e.g. `Live v3`). */
  summary?: string;
  children: React.ReactNode;
}): JSX.Element {
  const open = props.sections.isOpen(props.id);
  const title = SECTION_TITLES[props.id];
  return (
    <section
      className={`jp-Deploy-section ${open ? 'jp-mod-open' : ''}`}
      data-section={props.id}
    >
      <button
        className="jp-Deploy-sectionHeader"
        aria-expanded={open}
        onClick={() => props.sections.toggle(props.id)}
      >
        <span className="jp-Deploy-caret" aria-hidden="true">
          {open ? '▾' : '▸'}
        </span>
        <span className="jp-Deploy-sectionName">{title}</span>
        {props.summary && (
          <span className="jp-Deploy-sectionSummary">{props.summary}</span>
        )}
      </button>
      {open && <div className="jp-Deploy-sectionBody">{props.children}</div>}
    </section>
  );
}
