import { afterEach, describe, expect, it } from 'vitest';

import { DeployError, ITrafficAPI } from '../api';
import { TrafficModel } from '../trafficModel';
import { TrafficWire } from '../trafficTypes';

const FIGURES: TrafficWire.IFigures = {
  requests: 3,
  errors: 0,
  rejected: 1,
  error_rate: 0,
  p50_ms: 0.4,
  p95_ms: 0.9,
  p99_ms: 1.0
};

function comparison(
  state: TrafficWire.IComparison['state'],
  done: number
): TrafficWire.IComparison {
  return {
    name: 'watch',
    state,
    total: 4,
    done,
    agree: done,
    differing: 0,
    failed: 0,
    skipped: 0,
    agreement: done ? 1 : null,
    differ: [],
    message: state === 'running' ? '' : `${done} of ${done} answers agree`
  };
}

/** Answers like the server extension: a comparison that advances on each read. */
class Server implements ITrafficAPI {
  calls: string[] = [];
  progress = [comparison('running', 2), comparison('done', 4)];
  failTraffic = false;

  async traffic(name: string, minutes = 60): Promise<TrafficWire.ITraffic> {
    this.calls.push(`traffic ${name} ${minutes}`);
    if (this.failTraffic) {
      throw new DeployError('No deployment named watch.', 404, 'not_found');
    }
    return {
      name,
      minutes,
      interval_seconds: 15,
      series: [{ time: '2026-11-30T10:00:00Z', ...FIGURES }],
      totals: FIGURES
    };
  }

  async requests(name: string, limit = 20): Promise<TrafficWire.IRequests> {
    this.calls.push(`requests ${name} ${limit}`);
    const row = {
      time: '2026-11-30T10:00:01.000Z',
      route: '/predict',
      status: 200,
      latency_ms: 0.3,
      input: { x: 1 },
      output: { prediction: 2 }
    };
    return { name, requests: [row] };
  }

  async startCompare(name: string, last: number, path?: string) {
    this.calls.push(`compare ${name} ${last} ${path}`);
    return comparison('running', 0);
  }

  async getCompare(): Promise<TrafficWire.IComparison> {
    return this.progress.shift() ?? comparison('done', 4);
  }

  async cancelCompare(): Promise<TrafficWire.IComparison> {
    return comparison('cancelled', 2);
  }
}

const models: TrafficModel[] = [];

function setUp(): { api: Server; model: TrafficModel } {
  const api = new Server();
  const model = new TrafficModel({ api, interval: 60_000, compareInterval: 1 });
  models.push(model);
  return { api, model };
}

afterEach(() => {
  models.splice(0).forEach(model => model.dispose());
});

describe('TrafficModel', () => {
  it('reads the figures and the newest requests of the deployment it watches', async () => {
    const { api, model } = setUp();
    model.setDeployment('watch', 'watch.ipynb');
    await model.refresh();
    expect(model.traffic?.totals.requests).toBe(3);
    expect(model.requests[0].input).toEqual({ x: 1 });
    expect(api.calls).toContain('traffic watch 30');
    expect(api.calls).toContain('requests watch 20');
  });

  it('follows a comparison to its result and sends the notebook path', async () => {
    const { api, model } = setUp();
    model.setDeployment('watch', 'notebooks/watch.ipynb');
    const seen: number[] = [];
    model.changed.connect(() => seen.push(model.comparison?.done ?? -1));
    const result = await model.compare(4);
    expect(result?.state).toBe('done');
    expect(model.comparison?.message).toBe('4 of 4 answers agree');
    expect(seen).toEqual(expect.arrayContaining([0, 2, 4]));
    expect(api.calls).toContain('compare watch 4 notebooks/watch.ipynb');
  });

  it("shows the server's message when a read fails, and forgets it all on another deployment", async () => {
    const { api, model } = setUp();
    api.failTraffic = true;
    model.setDeployment('watch', null);
    await expect(model.refresh()).rejects.toThrow('No deployment named watch.');
    expect(model.error).toBe('No deployment named watch.');
    model.setDeployment('other', null);
    expect(model.error).toBeNull();
    expect(model.traffic).toBeNull();
  });
});
