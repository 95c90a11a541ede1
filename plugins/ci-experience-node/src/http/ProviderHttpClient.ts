import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import { ServiceUnavailableError } from '@backstage/errors';
import { JsonValue } from '@backstage/types';
import { createHash } from 'node:crypto';
import { CiProviderMetrics } from '../metrics';
import { CircuitBreaker } from './CircuitBreaker';
import {
  ProviderHostState,
  ProviderHostStateSource,
  ProviderTraffic,
} from './ProviderTraffic';
import { RateLimiter, RateLimiterOptions } from './RateLimiter';
import { SharedBudget } from './SharedBudget';
import {
  decodeTail,
  formatBytes,
  parseContentRange,
  readTail,
  safeRedirect,
  TailRead,
} from './bodies';
import { ProviderCredential, redactor } from './credentials';
import { errorMessage } from './errorMessage';
import { refusalError, RefusalContext } from './refusals';
import { defaultEndpointOf, linkNext } from './paging';
import {
  BodyTooLargeError,
  DEFAULT_MAX_RESPONSE_BYTES,
  MAX_RESPONSE_BYTES_KEY,
  readBoundedBytes,
  readBoundedText,
} from './readBounded';

/**
 * One answer of a provider's REST API.
 *
 * @public
 */
export interface ProviderResponse<T> {
  /** The parsed body. */
  body: T;
  /** The URL of the next page, when the provider says there is one. */
  next?: string;
  /** The answer was a 304: the body is the cached one. */
  notModified?: boolean;
}

/**
 * What a provider's client has in common, and where the five differ.
 *
 * @public
 */
export interface ProviderHttpClientOptions {
  /** The provider's name in messages, e.g. `GitLab`. */
  label: string;
  /** The provider id, in metrics and cache keys, e.g. `gitlab`. */
  providerId: string;
  /** Where refusals, retries and budget waits are logged (never a secret). */
  logger: LoggerService;
  /** Where ETags and their bodies are kept; without it, no conditional requests. */
  cache?: CacheService;
  /** The request instruments (the toolkit's). */
  metrics?: CiProviderMetrics;
  /** One host's request budget; falls back to `defaultLimits`. */
  limits?:
    | RateLimiterOptions
    | ((host: string) => RateLimiterOptions | undefined);
  /** Default 3600 requests an hour, 4 at once. */
  defaultLimits?: RateLimiterOptions;
  /**
   * What the clients of all providers share: the cache through which
   * replicas share each host's budget, this replica's id, the budget share,
   * per-endpoint and breaker settings, and the list of clients whose
   * {@link ProviderHttpClient.hostStates} an operator reads. Default: budgets
   * of this replica alone, default settings.
   */
  traffic?: ProviderTraffic;
  /** Per-request time limit; default 30 s. */
  timeoutMs?: number;
  /**
   * A JSON answer (or an action's) read at most, in bytes; default 16 MiB,
   * from `ciExperience.providers.maxResponseBytes`. Texts are bounded by
   * their own `maxReadBytes`.
   */
  maxResponseBytes?: number;
  /** Headers sent with every request; default `accept: application/json`. */
  headers?: Record<string, string>;
  /** `manual` makes a redirect an error (a wrong base URL), not a new request. */
  redirect?: RequestRedirect;
  /** The rate-limit headers under GitHub's `x-ratelimit-*` names; default as sent. */
  rateLimitHeaders?: (headers: Headers) => Headers;
  /**
   * The seconds the provider's rate limit counts over: default 3600
   * (GitHub's hour); 60 for Buildkite and GitLab, whose limits are per minute.
   */
  rateLimitWindowSeconds?: number;
  /** The next page's URL; default the `Link` header's `rel="next"`. */
  nextPage?: (url: string, headers: Headers) => string | undefined;
  /** A low-cardinality name of the endpoint, for metrics. */
  endpointOf?: (url: string, base: string) => string;
  /** Extra words for people reading a refusal. */
  hints?: {
    /** After a 401, e.g. where the credential is configured. */
    unauthorized?: string;
    /** After a 403, e.g. which scopes the token needs. */
    forbidden?: string;
    /** After a 403 to a rerun or cancel, e.g. which write scope the token needs. */
    forbiddenAction?: string;
    /** After a 3xx when redirects are not followed. */
    redirect?: string;
  };
}

/**
 * One request: a GET, or with {@link ProviderActionRequest} an action.
 *
 * @public
 */
export interface ProviderRequest {
  /** The host (or instance) whose budget it spends and messages name. */
  host: string;
  /** The API base: the request and every page link must stay below it. */
  base: string;
  /** What it is for, in messages, e.g. `GitLab project a/b` or `job a/b`. */
  subject: string;
  /** A path below `base`, or a full URL (a page link). */
  pathOrUrl: string;
  /** The credential, or a function that gets it (e.g. a GitHub App token). */
  credential: ProviderCredential | (() => Promise<ProviderCredential>);
  /** After a 403 to this request, instead of the client's hint, e.g. the scope logs need. */
  forbiddenHint?: string;
  /**
   * What of a JSON answer is kept with its ETag and returned, on a 200 and
   * a 304 alike: the fields the caller reads. Default: all of it.
   */
  keep?: (body: unknown) => unknown;
}

/**
 * A POST or PUT: an action at the provider, such as a rerun or a cancel.
 *
 * @public
 */
export interface ProviderActionRequest extends ProviderRequest {
  /** The HTTP method of the action. */
  method: 'POST' | 'PUT';
  /** A JSON body; none when absent. */
  body?: JsonValue;
  /** Headers besides the credential's, e.g. Jenkins' crumb. */
  headers?: Record<string, string>;
  /**
   * A 3xx answer means done (Jenkins answers a stop with a redirect to the
   * build page); it is never followed.
   */
  redirectIsDone?: boolean;
}

/**
 * A GET of a text, such as a job log, of which only the tail is kept.
 *
 * @public
 */
export interface ProviderTextRequest extends ProviderRequest {
  /** The tail kept, in bytes; default 8 MiB. */
  maxBytes?: number;
  /**
   * Bytes read at most: beyond, the reading stops and a last line says so;
   * default 64 MiB. A 2 GB log is never read, let alone held, whole.
   */
  maxReadBytes?: number;
  /**
   * Ask for the tail only (`Range: bytes=-maxBytes`); a host that ignores it
   * answers the whole text, which is then read up to `maxReadBytes`.
   */
  rangeTail?: boolean;
  /** The `Accept` header; default the client's headers. */
  accept?: string;
  /**
   * Follow redirects (default: unless the client's `redirect` is `manual`).
   * The credential goes to the request's origin only: a redirect to another
   * host (a signed download URL) is requested without it.
   */
  followRedirects?: boolean;
  /** Per-request time limit, body included; default the client's. */
  timeoutMs?: number;
}

/**
 * A text read by {@link ProviderHttpClient.getText}.
 *
 * @public
 */
export interface ProviderText {
  /** The text, or its tail, cut at a line start when cut. */
  text: string;
  /** Only the tail of a longer text is here. */
  truncated: boolean;
  /** The whole text's size in bytes, when known. */
  totalBytes?: number;
}

/**
 * A GET of bytes, such as a CI artifact (a zip, a JUnit XML file), read
 * whole up to `maxBytes`.
 *
 * @public
 */
export interface ProviderBytesRequest extends ProviderRequest {
  /**
   * Bytes read at most: a `Content-Length` above them is refused before a
   * byte is read, and a body that grows past them is cancelled.
   */
  maxBytes: number;
  /** The `Accept` header; default the client's headers. */
  accept?: string;
  /**
   * Follow redirects (default: unless the client's `redirect` is `manual`).
   * The credential goes to the request's origin only: a redirect to another
   * host (a signed download URL) is requested without it.
   */
  followRedirects?: boolean;
  /** Per-request time limit, body included; default the client's. */
  timeoutMs?: number;
}

/**
 * Bytes read by {@link ProviderHttpClient.getBytes}.
 *
 * @public
 */
export interface ProviderBytes {
  /** The body, whole. */
  data: Uint8Array;
  /** The answer's `Content-Type`, when it had one. */
  contentType?: string;
}

/**
 * What {@link ProviderHttpClient.getBytes} answers for a body longer than
 * its `maxBytes`: nothing of it is kept.
 *
 * @public
 */
export interface ProviderBytesTooLarge {
  /** The body was longer than `maxBytes`. */
  tooLarge: true;
  /**
   * Bytes downloaded before the reading stopped: 0 when the
   * `Content-Length` alone refused the body.
   */
  read: number;
}

/**
 * Default tail of a text kept: 8 MiB.
 *
 * @public
 */
export const DEFAULT_TEXT_MAX_BYTES = 8 * 1024 * 1024;
/**
 * Default bytes of a text read at most: 64 MiB.
 *
 * @public
 */
export const DEFAULT_TEXT_MAX_READ_BYTES = 64 * 1024 * 1024;
const MAX_REDIRECTS = 5;

/** What a GET that follows redirects by hand asks for (`getText`, `getBytes`). */
interface Download {
  accept?: string;
  followRedirects?: boolean;
}

/** The first answer of a chain of redirects (the API's), and the last. */
interface Followed {
  first: Response;
  response: Response;
}

/** What one request to a provider needs, worked out once. */
interface Prepared {
  forbiddenHint?: string;
  host: string;
  base: string;
  url: string;
  where: string;
  credential: ProviderCredential;
  redact: (text: string) => string;
  endpoint: string;
  count: (status: string) => void;
  unreachable: (error: unknown) => Error;
  limiter: RateLimiter;
  breaker: CircuitBreaker;
  timeoutMs: number;
}

interface CachedAnswer {
  etag: string;
  body: unknown;
  next?: string;
}

/** How long an ETag and its body are kept for conditional requests. */
const ETAG_TTL_MS = 24 * 3600_000;
const REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_LIMITS: RateLimiterOptions = {
  requestsPerHour: 3600,
  maxConcurrency: 4,
};

/**
 * The HTTP client every provider's API class uses: one {@link RateLimiter}
 * per host, conditional requests with the ETag kept per credential and URL
 * (a hash of both, never the credential itself) in the CacheService, a time
 * limit per request, answers read up to `maxResponseBytes` (a longer one is
 * cancelled and refused with a message naming the config key), metrics
 * (requests, conditional hits, rate limit left), page links that must stay
 * below the API base, and refusals turned into
 * `@backstage/errors` whose messages name the provider, the subject and the
 * host but never a credential. Besides JSON GETs ({@link ProviderHttpClient.get})
 * it sends actions ({@link ProviderHttpClient.send}: POST or PUT, never
 * cached), reads texts such as job logs ({@link ProviderHttpClient.getText}:
 * only their tail is held) and bytes such as CI artifacts
 * ({@link ProviderHttpClient.getBytes}: up to a bound), redirects to other
 * hosts getting no credential.
 *
 * @public
 */
export class ProviderHttpClient implements ProviderHostStateSource {
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly traffic: ProviderTraffic;

  constructor(private readonly options: ProviderHttpClientOptions) {
    this.traffic =
      options.traffic ?? new ProviderTraffic({ logger: options.logger });
    this.traffic.register(this);
  }

  /**
   * The request budget of a host, made on first use: shared with the other
   * replicas when the traffic options carry a cache.
   */
  limiter(host: string): RateLimiter {
    let limiter = this.limiters.get(host);
    if (!limiter) {
      const { limits, providerId } = this.options;
      const { traffic } = this;
      const settings = traffic.settingsFor(providerId);
      limiter = new RateLimiter(
        {
          budgetShare: settings.budgetShare,
          requestsPerMinutePerEndpoint: settings.requestsPerMinutePerEndpoint,
          expectedReplicas: settings.expectedReplicas,
          providerLimitWindowSeconds: this.options.rateLimitWindowSeconds,
          now: traffic.now,
          sleep: traffic.sleep,
          ...((typeof limits === 'function' ? limits(host) : limits) ??
            this.options.defaultLimits ??
            DEFAULT_LIMITS),
        },
        this.options.label,
        traffic.cache
          ? {
              budget: new SharedBudget({
                store: traffic.cache,
                key: `${providerId}:${host}`,
                replicaId: traffic.replicaId,
                now: traffic.now,
              }),
              logger: this.options.logger,
            }
          : undefined,
      );
      this.limiters.set(host, limiter);
    }
    return limiter;
  }

  /** The circuit breaker of a host, made on first use. */
  breaker(host: string): CircuitBreaker {
    let breaker = this.breakers.get(host);
    if (!breaker) {
      const { breaker: settings } = this.traffic.settingsFor(
        this.options.providerId,
      );
      breaker = new CircuitBreaker(this.options.label, {
        ...settings,
        now: this.traffic.now,
      });
      this.breakers.set(host, breaker);
    }
    return breaker;
  }

  /** Per host this client has used: budget, requests in flight, breaker. */
  hostStates(): ProviderHostState[] {
    const hosts = new Set([...this.limiters.keys(), ...this.breakers.keys()]);
    return [...hosts].sort().map(host => {
      const limiter = this.limiter(host);
      return {
        provider: this.options.providerId,
        host,
        budget: limiter.state(),
        inFlight: limiter.inFlight,
        breaker: this.breaker(host).state(),
      };
    });
  }

  /** GETs JSON within the host's budget. */
  async get<T>(request: ProviderRequest): Promise<ProviderResponse<T>> {
    const prepared = await this.prepare(request);
    const { url, where, credential, redact, endpoint, limiter } = prepared;
    const { label } = this.options;
    const cacheKey = this.cacheKey(credential, url);
    const cached = cacheKey ? await this.readCache(cacheKey) : undefined;

    const response = await this.exchange(prepared, async () => {
      try {
        return await fetch(url, {
          headers: {
            ...(this.options.headers ?? { accept: 'application/json' }),
            ...(cached ? { 'if-none-match': cached.etag } : {}),
            ...credential.headers,
          },
          redirect: this.options.redirect ?? 'follow',
          signal: AbortSignal.timeout(prepared.timeoutMs),
        });
      } catch (error) {
        throw prepared.unreachable(error);
      }
    });
    const limitHeaders = this.observe(prepared, response);

    if (response.status === 304 && cached) {
      limiter.observe(304, limitHeaders);
      this.options.metrics?.conditionalHits.add(1, {
        provider: this.options.providerId,
        endpoint,
      });
      return { body: cached.body as T, next: cached.next, notModified: true };
    }

    if (!response.ok) {
      const message = redact(await errorMessage(response));
      limiter.observe(response.status, limitHeaders, message);
      throw this.refusal(response.status, limitHeaders, message, {
        where,
        credential: credential.name ?? 'credentials',
        forbiddenHint: prepared.forbiddenHint,
      });
    }
    limiter.observe(response.status, limitHeaders);

    let text: string;
    try {
      text = await this.readBody(prepared, response);
    } catch (error) {
      throw error instanceof BodyTooLargeError
        ? this.tooLarge(error, prepared)
        : error;
    }
    let body: T;
    try {
      body = JSON.parse(text) as T;
    } catch {
      throw new ServiceUnavailableError(
        `${label} answered with a body that is not JSON for ${where}`,
      );
    }
    if (request.keep) {
      body = request.keep(body) as T;
    }
    const next = (this.options.nextPage ?? linkNext)(url, response.headers);
    const etag = response.headers.get('etag');
    if (cacheKey && etag) {
      await this.writeCache(cacheKey, { etag, body, next });
    }
    return { body, next };
  }

  /**
   * POSTs or PUTs within the host's budget, never conditionally: an action
   * such as a rerun or a cancel. The answer's JSON body, when it has one.
   * Refusals become `@backstage/errors`: 403 `NotAllowedError`, 404
   * `NotFoundError`, 409 `ConflictError`, 400 and 422 `InputError`, with the
   * provider's own words (trimmed, credentials blanked).
   */
  async send<T = unknown>(
    request: ProviderActionRequest,
  ): Promise<ProviderResponse<T | undefined>> {
    const prepared = await this.prepare(request);
    const { url, where, credential, redact, limiter } = prepared;
    const hasBody = request.body !== undefined;
    const response = await this.exchange(prepared, async () => {
      try {
        return await fetch(url, {
          method: request.method,
          headers: {
            ...(this.options.headers ?? { accept: 'application/json' }),
            ...(hasBody ? { 'content-type': 'application/json' } : {}),
            ...request.headers,
            ...credential.headers,
          },
          body: hasBody ? JSON.stringify(request.body) : undefined,
          // An action is never repeated at another URL.
          redirect: 'manual',
          signal: AbortSignal.timeout(prepared.timeoutMs),
        });
      } catch (error) {
        throw prepared.unreachable(error);
      }
    });
    const limitHeaders = this.observe(prepared, response);
    const redirected = response.status >= 300 && response.status < 400;
    if (!response.ok && !(redirected && request.redirectIsDone)) {
      const message = redact(await errorMessage(response));
      limiter.observe(response.status, limitHeaders, message);
      throw this.refusal(response.status, limitHeaders, message, {
        where,
        credential: credential.name ?? 'credentials',
        action: true,
        forbiddenHint: prepared.forbiddenHint,
      });
    }
    limiter.observe(response.status, limitHeaders);
    let text = '';
    try {
      text = await this.readBody(prepared, response);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) {
        throw error;
      }
      // The provider took the action: failing now would invite a second one.
      this.options.logger.warn(
        `${
          this.tooLarge(error, prepared).message
        }; the answer to the action was not read`,
      );
    }
    let body: T | undefined;
    try {
      body = text.trim() ? (JSON.parse(text) as T) : undefined;
    } catch {
      // Done, with an answer that is not JSON (e.g. an HTML page).
      body = undefined;
    }
    return { body };
  }

  /**
   * GETs a text, such as a job log, keeping only its tail: at most
   * `maxBytes` are held while the body streams in, and reading stops after
   * `maxReadBytes`. Redirects are followed by hand, the credential sent to
   * the request's origin only (GitHub redirects log downloads to a signed
   * URL on another host).
   */
  async getText(request: ProviderTextRequest): Promise<ProviderText> {
    const prepared = await this.prepare(request);
    const { label } = this.options;
    const maxBytes = Math.max(1, request.maxBytes ?? DEFAULT_TEXT_MAX_BYTES);
    const maxReadBytes = Math.max(
      maxBytes,
      request.maxReadBytes ?? DEFAULT_TEXT_MAX_READ_BYTES,
    );
    const response = await this.download(
      prepared,
      request,
      request.rangeTail ? `bytes=-${maxBytes}` : undefined,
    );

    let read: TailRead;
    try {
      read = await readTail(response.body, maxBytes, maxReadBytes);
    } catch (error) {
      throw prepared.unreachable(error);
    }
    const range = parseContentRange(response.headers.get('content-range'));
    const partial = response.status === 206 && range !== undefined;
    const length = Number(response.headers.get('content-length'));
    let totalBytes: number | undefined;
    if (partial) {
      totalBytes = range.total;
    } else if (read.complete) {
      totalBytes = read.read;
    } else if (Number.isFinite(length) && length > 0) {
      totalBytes = length;
    }
    const cut = read.buffer.length < read.read || (partial && range.start > 0);
    let text = decodeTail(read.buffer, cut);
    if (!read.complete) {
      text += `${
        text.endsWith('\n') || text === '' ? '' : '\n'
      }[ci-experience] Stopped reading after ${formatBytes(read.read)}${
        totalBytes ? ` of ${formatBytes(totalBytes)}` : ''
      }: the log goes on at ${label}.\n`;
    }
    return {
      text,
      truncated: cut || !read.complete,
      ...(totalBytes !== undefined ? { totalBytes } : {}),
    };
  }

  /**
   * GETs bytes, such as a CI artifact, `maxBytes` at most: a
   * `Content-Length` above them is refused before a byte is read, a body
   * that grows past them is cancelled; either way the answer says how much
   * was read instead of the body. Otherwise as {@link ProviderHttpClient.getText}:
   * within the host's budget and through its breaker, redirects followed by
   * hand with the credential sent to the request's origin only (GitHub and
   * Buildkite redirect artifact downloads to signed URLs on other hosts),
   * refusals mapped to `@backstage/errors` without the credential.
   */
  async getBytes(
    request: ProviderBytesRequest,
  ): Promise<ProviderBytes | ProviderBytesTooLarge> {
    if (Number.isNaN(request.maxBytes)) {
      throw new TypeError('maxBytes of a bytes request must be a number');
    }
    const prepared = await this.prepare(request);
    const response = await this.download(prepared, request);
    let data: Uint8Array;
    try {
      data = await readBoundedBytes(response, request.maxBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        return { tooLarge: true, read: error.read };
      }
      throw prepared.unreachable(error);
    }
    const contentType = response.headers.get('content-type');
    return contentType ? { data, contentType } : { data };
  }

  /**
   * The GET of `getText` and `getBytes`, as one exchange: redirects followed
   * by hand (see `fetchFollowing`), asked again
   * without the `range` when the host refuses it (416). The first answer is
   * counted and its rate limit recorded; a refusal becomes an
   * `@backstage/errors` error without the credential. The last answer, whose
   * body is still to be read.
   */
  private async download(
    prepared: Prepared,
    request: Download,
    range?: string,
  ): Promise<Response> {
    const { where, credential, redact, limiter, timeoutMs } = prepared;
    const follow =
      request.followRedirects ?? this.options.redirect !== 'manual';
    const headers: Record<string, string> = {
      ...(this.options.headers ?? { accept: 'application/json' }),
      ...(request.accept ? { accept: request.accept } : {}),
    };
    const answer = await this.exchange(
      prepared,
      async () => {
        // Started when the request leaves the limiter's queue, so that
        // waiting for a slot never counts against the request's time-out;
        // it bounds the body's reading too.
        const signal = AbortSignal.timeout(timeoutMs);
        if (!range) {
          return this.fetchFollowing(prepared, headers, follow, signal);
        }
        const tried = await this.fetchFollowing(
          prepared,
          { ...headers, range },
          follow,
          signal,
        );
        if (tried.response.status === 416) {
          // The host does not take the range: ask for the whole body.
          tried.response.body?.cancel().catch(() => {});
          return this.fetchFollowing(prepared, headers, follow, signal);
        }
        return tried;
      },
      tried => tried.first.status,
    );
    const limitHeaders = this.observe(prepared, answer.first);
    const { response } = answer;
    if (!response.ok) {
      const message = redact(await errorMessage(response));
      limiter.observe(response.status, limitHeaders, message);
      throw this.refusal(response.status, limitHeaders, message, {
        where,
        credential: credential.name ?? 'credentials',
        forbiddenHint: prepared.forbiddenHint,
      });
    }
    limiter.observe(answer.first.status, limitHeaders);
    return response;
  }

  /**
   * A GET of the prepared URL that follows redirects by hand (when
   * `follow`), `MAX_REDIRECTS` at most and never down to http. The
   * credential goes to the request's origin only: a signed URL on another
   * host needs none, and a stranger must not get ours.
   */
  private async fetchFollowing(
    prepared: Prepared,
    headers: Record<string, string>,
    follow: boolean,
    signal: AbortSignal,
  ): Promise<Followed> {
    const { url, where, credential } = prepared;
    const origin = new URL(url).origin;
    let current = url;
    let first: Response | undefined;
    for (let hop = 0; ; hop++) {
      const sameOrigin = new URL(current).origin === origin;
      let response: Response;
      try {
        response = await fetch(current, {
          headers: { ...headers, ...(sameOrigin ? credential.headers : {}) },
          redirect: 'manual',
          signal,
        });
      } catch (error) {
        throw prepared.unreachable(error);
      }
      first = first ?? response;
      const location = response.headers.get('location');
      if (
        !follow ||
        response.status < 300 ||
        response.status >= 400 ||
        response.status === 304 ||
        !location
      ) {
        return { first, response };
      }
      response.body?.cancel().catch(() => {});
      const next = safeRedirect(current, location);
      if (!next || hop >= MAX_REDIRECTS) {
        throw new ServiceUnavailableError(
          `${this.options.label} answered with ${
            next ? 'too many redirects' : 'a redirect that is not followed'
          } for ${where}`,
        );
      }
      current = next;
    }
  }

  /**
   * One exchange with the host, through its breaker and within its budget:
   * an open breaker fails at once; a timeout, a network error or a 5xx
   * answer counts towards opening it, any other answer closes it. Refusals
   * by the budget itself (spent, backing off) tell nothing about the host.
   */
  private async exchange<R = Response>(
    prepared: Prepared,
    send: () => Promise<R>,
    statusOf: (answer: R) => number = answer =>
      (answer as unknown as Response).status,
  ): Promise<R> {
    const { breaker, limiter } = prepared;
    const probe = breaker.enter();
    let sent = false;
    try {
      const answer = await limiter.run(async () => {
        sent = true;
        return send();
      }, prepared.endpoint);
      const status = statusOf(answer);
      if (status >= 500) {
        breaker.failure(
          `${this.options.label} answered ${status} for ${prepared.where}`,
        );
      } else {
        breaker.success();
      }
      return answer;
    } catch (error) {
      if (sent) {
        breaker.failure((error as Error)?.message ?? String(error));
      } else {
        breaker.abandon(probe);
      }
      throw error;
    }
  }

  /**
   * A JSON answer's text, within `maxResponseBytes`; past it a
   * {@link BodyTooLargeError}, which `get` turns into a refusal and `send`
   * into a warning. A stream that breaks or times out is the host's failure.
   */
  private async readBody(
    prepared: Prepared,
    response: Response,
  ): Promise<string> {
    try {
      return await readBoundedText(
        response,
        this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      );
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw error;
      }
      throw prepared.unreachable(error);
    }
  }

  private tooLarge(
    error: BodyTooLargeError,
    prepared: Prepared,
  ): ServiceUnavailableError {
    return new ServiceUnavailableError(
      `${this.options.label} answered more than ${formatBytes(
        error.maxBytes,
      )} for ${prepared.where} (${MAX_RESPONSE_BYTES_KEY})`,
    );
  }

  /** The URL, credential and bookkeeping of one request. */
  private async prepare(
    request: ProviderRequest & { timeoutMs?: number },
  ): Promise<Prepared> {
    const { label } = this.options;
    const { host } = request;
    const base = request.base.replace(/\/+$/, '');
    const where = `${request.subject} on ${host}`;
    const url = /^https?:\/\//i.test(request.pathOrUrl)
      ? request.pathOrUrl
      : `${base}${request.pathOrUrl}`;
    if (url !== base && !url.startsWith(`${base}/`)) {
      // A page link pointing elsewhere would receive our credentials.
      throw new ServiceUnavailableError(
        `${label} answered with a page link outside ${base} for ${where}`,
      );
    }
    const credential =
      typeof request.credential === 'function'
        ? await request.credential()
        : request.credential;
    const redact = redactor(credential);
    const endpoint = (this.options.endpointOf ?? defaultEndpointOf)(url, base);
    const count = (status: string) =>
      this.options.metrics?.providerRequests.add(1, {
        provider: this.options.providerId,
        host,
        endpoint,
        status,
      });
    const timeoutMs =
      request.timeoutMs ?? this.options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const unreachable = (error: unknown) => {
      if (error instanceof ServiceUnavailableError) {
        return error;
      }
      if (isTimeout(error)) {
        count('timeout');
        return new ServiceUnavailableError(
          `${label} did not answer within ${timeoutMs / 1000}s for ${where}`,
        );
      }
      count('network-error');
      return new ServiceUnavailableError(
        `${label} could not be reached for ${where}: ${redact(
          String((error as Error)?.message ?? error),
        )}`,
      );
    };
    return {
      forbiddenHint: request.forbiddenHint,
      host,
      base,
      url,
      where,
      credential,
      redact,
      endpoint,
      count,
      unreachable,
      limiter: this.limiter(host),
      breaker: this.breaker(host),
      timeoutMs,
    };
  }

  /** Counts an answer and records the rate limit it reports; its limit headers. */
  private observe(prepared: Prepared, response: Response): Headers {
    prepared.count(String(response.status));
    const limitHeaders =
      this.options.rateLimitHeaders?.(response.headers) ?? response.headers;
    const remaining = Number(limitHeaders.get('x-ratelimit-remaining'));
    if (
      limitHeaders.has('x-ratelimit-remaining') &&
      Number.isFinite(remaining)
    ) {
      this.options.metrics?.rateLimitRemaining.record(remaining, {
        provider: this.options.providerId,
        host: prepared.host,
      });
    }
    return limitHeaders;
  }

  private refusal(
    status: number,
    headers: Headers,
    message: string,
    about: RefusalContext,
  ): Error {
    return refusalError(this.options.label, this.options.hints, {
      status,
      headers,
      message,
      ...about,
    });
  }

  /** Per credential and URL, hashed: neither is a key in clear. */
  private cacheKey(credential: ProviderCredential, url: string) {
    if (!this.options.cache) {
      return undefined;
    }
    const who = Object.entries(credential.headers)
      .map(([name, value]) => `${name.toLowerCase()}: ${value}`)
      .sort()
      .join('\n');
    return `${this.options.providerId}-etag:${createHash('sha256')
      .update(`${who}\n${url}`)
      .digest('base64url')}`;
  }

  private async readCache(key: string): Promise<CachedAnswer | undefined> {
    try {
      return (await this.options.cache?.get(key)) as CachedAnswer | undefined;
    } catch (error) {
      this.options.logger.warn(
        `Cache read failed, requesting ${this.options.label} without ETag: ${error}`,
      );
      return undefined;
    }
  }

  private async writeCache(key: string, value: CachedAnswer) {
    try {
      await this.options.cache?.set(key, value as unknown as JsonValue, {
        ttl: ETAG_TTL_MS,
      });
    } catch (error) {
      this.options.logger.warn(
        `Cache write failed, the next ${this.options.label} request is unconditional: ${error}`,
      );
    }
  }
}

function isTimeout(error: unknown): boolean {
  const name = (error as Error)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}
