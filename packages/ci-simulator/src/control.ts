import { http, HttpResponse, type HttpHandler } from 'msw';
import {
  ChaosSettingsError,
  ChaosState,
  SimulatorChaos,
  parseChaosSettings,
} from './chaos';
import { SimRepoSpec, SimRunAttempt, SimulatedHistory } from './history';

/** An attempt a control call created, as the control endpoints report it. */
export interface SimulatorControlRun {
  id: number;
  attempt: number;
  /** The workflow's name, e.g. `CI`. */
  workflow: string;
  branch: string;
}

/** The answer to a break or fix: the repository, whether it is broken now, the attempts created. */
export interface SimulatorControlResult {
  /** `owner/repo`, as the simulator spells it. */
  repo: string;
  broken: boolean;
  runs: SimulatorControlRun[];
}

export interface SimulatorControlOptions {
  /**
   * The origin (and any path) the endpoints answer under, e.g.
   * `http://localhost:7008`; by default any origin, so they answer however
   * the simulator is reached.
   */
  baseUrl?: string;
  /** Told of every break and fix that was done, e.g. to log it. */
  onChange?: (action: 'break' | 'fix', result: SimulatorControlResult) => void;
  /**
   * The simulated providers' fault mode that `/_simulator/chaos` steers
   * (e.g. a `GithubSimulator`'s `chaos`); without it those endpoints answer
   * 404.
   */
  chaos?: SimulatorChaos;
  /** Told of every chaos change, e.g. to log it. */
  onChaos?: (state: ChaosState) => void;
}

/**
 * Endpoints that steer the simulated history, for demos and browser tests,
 * served beside the simulated providers (they read the same history, so a
 * change shows in whichever provider serves the repository):
 *
 * - `POST /_simulator/repos/{owner}/{repo}/break`: breaks the default branch
 *   (see {@link SimulatedHistory.breakDefaultBranch});
 * - `POST /_simulator/repos/{owner}/{repo}/fix`: fixes it (see
 *   {@link SimulatedHistory.fixDefaultBranch});
 *
 * both answer 200 `{ repo, broken, runs: [{ id, attempt, workflow, branch }] }`
 * with the attempts they created;
 * - `GET /_simulator/repos/{owner}/{repo}`: 200 `{ broken }`;
 * - `POST /_simulator/chaos` with `{ seed, error5xx, slow, slowMs, tooMany,
 *   retryAfterSeconds }` (each optional, see `parseChaosSettings`): turns
 *   the probabilistic fault mode on, 400 `{ message }` for bad settings;
 * - `DELETE /_simulator/chaos`: turns it off;
 * - `GET /_simulator/chaos`: 200 `{ enabled, settings?, counts: { ok,
 *   error5xx, slow, tooMany } }` (the chaos calls answer the same).
 *
 * An unknown repository gets 404 `{ message }`.
 */
export class SimulatorControl {
  readonly history: SimulatedHistory;
  private readonly options: SimulatorControlOptions;

  constructor(
    history: SimulatedHistory,
    options: SimulatorControlOptions = {},
  ) {
    this.history = history;
    this.options = options;
  }

  handlers(): HttpHandler[] {
    const base = (this.options.baseUrl ?? '*').replace(/\/+$/, '');
    const repoPath = `${base}/_simulator/repos/:owner/:repo`;
    return [
      http.post(`${repoPath}/break`, ({ params }) =>
        this.change(params, 'break'),
      ),
      http.post(`${repoPath}/fix`, ({ params }) => this.change(params, 'fix')),
      http.get(`${base}/_simulator/chaos`, () =>
        this.withChaos(chaos => HttpResponse.json(chaos.state())),
      ),
      http.post(`${base}/_simulator/chaos`, ({ request }) =>
        this.withChaos(async chaos => {
          const text = await request.text();
          try {
            chaos.set(parseChaosSettings(text.trim() ? JSON.parse(text) : {}));
          } catch (error) {
            if (
              error instanceof ChaosSettingsError ||
              error instanceof SyntaxError
            ) {
              return HttpResponse.json(
                { message: `Bad chaos settings: ${error.message}` },
                { status: 400 },
              );
            }
            throw error;
          }
          this.options.onChaos?.(chaos.state());
          return HttpResponse.json(chaos.state());
        }),
      ),
      http.delete(`${base}/_simulator/chaos`, () =>
        this.withChaos(chaos => {
          chaos.clear();
          this.options.onChaos?.(chaos.state());
          return HttpResponse.json(chaos.state());
        }),
      ),
      http.get(repoPath, ({ params }) => {
        const spec = this.specOf(params);
        if (!spec) {
          return this.unknown(params);
        }
        return HttpResponse.json({
          broken: this.history.isDefaultBranchBroken(spec),
        });
      }),
    ];
  }

  private change(
    params: Record<string, string | readonly string[] | undefined>,
    action: 'break' | 'fix',
  ) {
    const spec = this.specOf(params);
    if (!spec) {
      return this.unknown(params);
    }
    const created =
      action === 'break'
        ? this.history.breakDefaultBranch(spec)
        : this.history.fixDefaultBranch(spec);
    const result: SimulatorControlResult = {
      repo: `${spec.owner}/${spec.repo}`,
      broken: this.history.isDefaultBranchBroken(spec),
      runs: created.map(runOf),
    };
    this.options.onChange?.(action, result);
    return HttpResponse.json(result);
  }

  private withChaos(
    handle: (chaos: SimulatorChaos) => Response | Promise<Response>,
  ) {
    const chaos = this.options.chaos;
    if (!chaos) {
      return HttpResponse.json(
        { message: 'This simulator has no chaos mode' },
        { status: 404 },
      );
    }
    return handle(chaos);
  }

  private specOf(
    params: Record<string, string | readonly string[] | undefined>,
  ): SimRepoSpec | undefined {
    return this.history.repo(String(params.owner), String(params.repo));
  }

  private unknown(
    params: Record<string, string | readonly string[] | undefined>,
  ) {
    return HttpResponse.json(
      {
        message: `No simulated repository ${params.owner}/${params.repo}`,
      },
      { status: 404 },
    );
  }
}

function runOf(run: SimRunAttempt): SimulatorControlRun {
  return {
    id: run.id,
    attempt: run.attempt,
    workflow: run.workflow.name,
    branch: run.branch,
  };
}
