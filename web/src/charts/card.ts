/** A titled box around a chart with its export buttons (PNG always; SVG where the library draws SVG). */
import { h } from '../dom.js';

export interface Exporters {
  png: () => string;
  svg?: () => string;
}

export function card(title: string, body: HTMLElement, exporters?: () => Exporters | undefined): HTMLElement {
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const buttons = exporters
    ? [
        h(
          'button',
          { class: 'export', 'data-export': 'png', onclick: () => download(exporters()?.png(), `${slug}.png`) },
          'PNG',
        ),
        h(
          'button',
          {
            class: 'export',
            'data-export': 'svg',
            onclick: () => {
              const svg = exporters()?.svg;
              if (svg) download(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg())}`, `${slug}.svg`);
              else alert('This chart is drawn on a canvas: PNG only.');
            },
          },
          'SVG',
        ),
      ]
    : [];
  return h(
    'section',
    { class: 'card', 'data-card': slug },
    h('header', {}, h('h3', {}, title), h('span', { class: 'tools' }, buttons)),
    body,
  );
}

function download(url: string | undefined, name: string): void {
  if (!url) return;
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}
