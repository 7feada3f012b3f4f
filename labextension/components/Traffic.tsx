import * as React from 'react';
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';

import { TrafficAPI, ITrafficAPI } from '../api';
import { DeployModel } from '../model';
import { TrafficModel } from '../trafficModel';
import { TrafficWire } from '../trafficTypes';

export interface ITrafficProps {
  /** The panel's model: its live deployment, notebook and test console. */
  model: DeployModel;
  /** The REST client (default: the server extension's). */
  api?: ITrafficAPI;
  /** Milliseconds between refreshes (default 5000). */
  interval?: number;
}

/** Traffic of the live deployment: charts, recent requests, compare with notebook. */
export function Traffic(props: ITrafficProps): JSX.Element {
  const { model } = props;
  const traffic = useTrafficModel(props);
  const name = model.deployment?.name ?? null;
  useEffect(() => {
    traffic.setDeployment(name, model.notebookPath);
  }, [traffic, name, model.notebookPath]);
  const figures = traffic.traffic;
  const series = figures?.series ?? [];
  const times = series.map(minute => Date.parse(minute.time) / 1000);
  return (
    <section className="jp-Deploy-traffic">
      <div className="jp-Deploy-sectionTitle">Traffic</div>
      {figures && <Totals totals={figures.totals} minutes={figures.minutes} />}
      <div className="jp-Deploy-charts">
        <Chart
          label="requests / min"
          times={times}
          values={series.map(minute => minute.requests)}
        />
        <Chart
          label="p95 latency (ms)"
          times={times}
          values={series.map(minute => minute.p95_ms)}
        />
        <Chart
          label="error rate (%)"
          times={times}
          values={series.map(minute => 100 * minute.error_rate)}
        />
      </div>
      {traffic.error && (
        <div className="jp-Deploy-error" role="alert">
          {traffic.error}
        </div>
      )}
      <RequestTable
        requests={traffic.requests}
        onPick={input => {
          model.console.setText(JSON.stringify(input, null, 2));
        }}
      />
      <Compare traffic={traffic} />
    </section>
  );
}

function useTrafficModel(props: ITrafficProps): TrafficModel {
  const [traffic] = useState(
    () =>
      new TrafficModel({
        api: props.api ?? new TrafficAPI(),
        interval: props.interval
      })
  );
  const [, setCount] = useState(0);
  useEffect(() => {
    const onChange = () => setCount(count => count + 1);
    traffic.changed.connect(onChange);
    return () => {
      traffic.changed.disconnect(onChange);
    };
  }, [traffic]);
  useEffect(() => () => traffic.dispose(), [traffic]);
  return traffic;
}

function Totals(props: {
  totals: TrafficWire.IFigures;
  minutes: number;
}): JSX.Element {
  const { totals } = props;
  return (
    <div className="jp-Deploy-totals jp-Deploy-muted">
      {totals.requests} requests in {props.minutes} min · {totals.errors} errors
      ({(100 * totals.error_rate).toFixed(1)}%) · p95{' '}
      {totals.p95_ms === null ? '-' : `${totals.p95_ms.toFixed(1)} ms`}
    </div>
  );
}

/** One small uPlot time series, updated in place when the data changes. */
function Chart(props: {
  label: string;
  times: number[];
  values: (number | null)[];
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) {
      return;
    }
    const options: uPlot.Options = {
      width: Math.max(160, element.clientWidth || 240),
      height: 90,
      legend: { show: false },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{ size: 24 }, { size: 36 }],
      series: [
        {},
        {
          label: props.label,
          stroke: 'var(--jp-brand-color1, #1976d2)',
          width: 1.5
        }
      ]
    };
    plot.current = new uPlot(options, [[], []], element);
    const resize = new ResizeObserver(() => {
      plot.current?.setSize({
        width: Math.max(160, element.clientWidth),
        height: 90
      });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [props.label]);
  useEffect(() => {
    plot.current?.setData([props.times, props.values] as uPlot.AlignedData);
  }, [props.times, props.values]);
  return (
    <figure className="jp-Deploy-chart">
      <figcaption className="jp-Deploy-muted">{props.label}</figcaption>
      <div ref={box} data-points={props.times.length} />
    </figure>
  );
}

function short(value: unknown, width = 48): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** The newest requests; a click puts the request's input into the test console. */
function RequestTable(props: {
  requests: TrafficWire.IRequest[];
  onPick: (input: unknown) => void;
}): JSX.Element {
  if (props.requests.length === 0) {
    return <p className="jp-Deploy-muted">No logged requests yet.</p>;
  }
  return (
    <table className="jp-Deploy-requests">
      <colgroup>
        <col style={{ width: '5.5em' }} />
        <col style={{ width: '4.5em' }} />
        <col style={{ width: '3.5em' }} />
        <col />
        <col />
      </colgroup>
      <thead>
        <tr>
          <th>time</th>
          <th>status</th>
          <th>ms</th>
          <th>input</th>
          <th>output</th>
        </tr>
      </thead>
      <tbody>
        {props.requests.map((row, index) => (
          <tr
            key={`${row.time}-${index}`}
            className={row.status >= 400 ? 'jp-mod-bad' : ''}
            tabIndex={0}
            title="Put this input into the test console"
            onClick={() => props.onPick(row.input)}
            onKeyDown={event => {
              if (event.key === 'Enter') {
                props.onPick(row.input);
              }
            }}
          >
            <td>{row.time.slice(11, 19)}</td>
            <td>{row.status}</td>
            <td>{row.latency_ms.toFixed(1)}</td>
            <td>{short(row.input)}</td>
            <td>{short(row.output)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** "Compare with notebook": progress while it runs, then the differing answers. */
function Compare(props: { traffic: TrafficModel }): JSX.Element {
  const { traffic } = props;
  const [last, setLast] = useState(100);
  const result = traffic.comparison;
  const running = result?.state === 'running';
  return (
    <div className="jp-Deploy-compare">
      <div className="jp-Deploy-bar">
        <button
          className="jp-Button jp-mod-styled jp-Deploy-compareButton"
          disabled={running || !traffic.name}
          onClick={() => void traffic.compare(last)}
        >
          Compare with notebook
        </button>
        <label className="jp-Deploy-muted">
          last{' '}
          <input
            className="jp-mod-styled jp-Deploy-last"
            aria-label="Requests to compare"
            type="number"
            min={1}
            value={last}
            onChange={event => setLast(Number(event.target.value) || 1)}
          />
        </label>
        {running && (
          <button
            className="jp-Button jp-mod-styled jp-Deploy-cancelCompare"
            onClick={() => void traffic.cancelCompare()}
          >
            Cancel
          </button>
        )}
      </div>
      {result && running && (
        <progress
          className="jp-Deploy-compareProgress"
          max={result.total || 1}
          value={result.done}
        />
      )}
      {result && !running && (
        <div className="jp-Deploy-compareResult" data-state={result.state}>
          {result.message}
        </div>
      )}
      {result && result.differ.length > 0 && (
        <table className="jp-Deploy-differ">
          <thead>
            <tr>
              <th>input</th>
              <th>live</th>
              <th>notebook</th>
            </tr>
          </thead>
          <tbody>
            {result.differ.map((row, index) => (
              <tr key={index}>
                <td>{short(row.input)}</td>
                <td>{short(row.live, 24)}</td>
                <td>
                  {row.error === null
                    ? short(row.notebook, 24)
                    : `raised ${row.error}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
