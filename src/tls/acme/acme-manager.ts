// Certificates from an ACME CA (Let's Encrypt) for one TLS listener: obtained
// at start when storage has none, renewed once a share of their lifetime has
// passed, each handed to the listener through install(). Validation is
// HTTP-01 only: weir answers /.well-known/acme-challenge/<token> on its plain
// listener from challengeAnswer(). Nothing here throws into its caller or
// escapes from a timer: every failure is logged, shown in status() and
// retried with a capped backoff, while the certificate already installed
// keeps being served.

import type { Logger } from '../../log.ts';
import type { AcmeConfig } from '../../config/types.ts';
import { AcmeStorage, type StoredCertificate } from './acme-storage.ts';
import { AcmeTransportError, createCaAgent, DEFAULT_REQUEST_TIMEOUT_MS, loadAcmeClient, withAcmeTransport } from './acme-transport.ts';
import {
  DEFAULT_RETRY_BACKOFF,
  nextRenewalAttempt,
  renewalTime,
  retryDelay,
  stillValid,
  timerDelay,
  type RetryBackoff,
} from './renewal-schedule.ts';

/** A certificate handed to the TLS listener. */
export interface AcmeCertificate {
  /** The PEM chain, leaf first. */
  cert: string;
  /** The PEM private key. */
  key: string;
  /** The DNS names it is for, lower case. */
  names: string[];
  notAfter: Date;
}

export interface AcmeHooks {
  log: Logger;
  /** Gives a certificate to the TLS listener; called again with each renewal. */
  install(certificate: AcmeCertificate): void;
  /** The clock, ms since the epoch; for tests of the schedule. */
  now?: () => number;
  /** Backoff after a failed attempt; default DEFAULT_RETRY_BACKOFF (2 min doubling to 1 h). */
  retry?: RetryBackoff;
}

/**
 * - obtaining: no certificate yet, an attempt is under way or about to start;
 * - valid: a certificate is installed and renewal is not due;
 * - renewing: a certificate is installed and a renewal is under way;
 * - failing: the last attempt failed; the next one is at nextAttemptAt.
 */
export type AcmeState = 'obtaining' | 'valid' | 'renewing' | 'failing';

export interface AcmeStatus {
  domains: string[];
  state: AcmeState;
  /** Expiry of the installed certificate (ISO 8601). */
  notAfter?: string;
  /** When renewal of the installed certificate starts. */
  renewAt?: string;
  lastError?: string;
  lastFailureAt?: string;
  /** When the next attempt (renewal or retry) is due. */
  nextAttemptAt?: string;
  consecutiveFailures: number;
  /** Failed attempts since start, obtaining or renewing. */
  renewalsFailed: number;
}

/**
 * ACME's order polling: how often acme-client looks at a pending challenge
 * or order. Its default starts at 5 s; a CA validates in about a second.
 */
const ORDER_POLLING = { backoffAttempts: 12, backoffMin: 500, backoffMax: 10_000 };

export class AcmeManager {
  readonly #config: AcmeConfig;
  readonly #log: Logger;
  readonly #install: (certificate: AcmeCertificate) => void;
  readonly #now: () => number;
  readonly #retry: RetryBackoff;
  readonly #storage: AcmeStorage;
  /** Key authorizations by token, while an order's HTTP-01 challenges are pending. */
  readonly #challenges = new Map<string, string>();

  #started = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #nextAttemptAt: number | undefined;
  #attempt: AbortController | undefined;
  #installed: { notBefore: Date; notAfter: Date } | undefined;
  #consecutiveFailures = 0;
  #failures = 0;
  #lastError: string | undefined;
  #lastFailureAt: number | undefined;

  constructor(config: AcmeConfig, hooks: AcmeHooks) {
    this.#config = config;
    this.#log = hooks.log;
    this.#install = hooks.install;
    this.#now = hooks.now ?? Date.now;
    this.#retry = hooks.retry ?? DEFAULT_RETRY_BACKOFF;
    this.#storage = new AcmeStorage(config.storage);
  }

  /**
   * Installs the stored certificate for these domains at once if it is still
   * valid, then schedules its renewal, or starts obtaining one without
   * waiting for it (HTTP-01 needs weir's plain listener up to answer). Never rejects.
   */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const stored = await this.#loadStored();
    if (this.#closed) return;
    if (stored) {
      this.#scheduleAttempt(renewalTime(stored, this.#config.renewAfterShare));
    } else {
      this.#scheduleAttempt(this.#now());
    }
  }

  /** The key authorization to answer GET /.well-known/acme-challenge/<token> with, while that challenge is pending. */
  challengeAnswer(token: string): string | undefined {
    return this.#challenges.get(token);
  }

  status(): AcmeStatus {
    const status: AcmeStatus = {
      domains: [...this.#config.domains],
      state: this.#state(),
      consecutiveFailures: this.#consecutiveFailures,
      renewalsFailed: this.#failures,
    };
    if (this.#installed) {
      status.notAfter = this.#installed.notAfter.toISOString();
      status.renewAt = new Date(renewalTime(this.#installed, this.#config.renewAfterShare)).toISOString();
    }
    if (this.#lastError !== undefined) status.lastError = this.#lastError;
    if (this.#lastFailureAt !== undefined) status.lastFailureAt = new Date(this.#lastFailureAt).toISOString();
    if (this.#nextAttemptAt !== undefined) status.nextAttemptAt = new Date(this.#nextAttemptAt).toISOString();
    return status;
  }

  /** Cancels the timers and abandons an order in flight; the installed certificate stays with the listener. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAttemptAt = undefined;
    this.#attempt?.abort();
    this.#challenges.clear();
  }

  #state(): AcmeState {
    if (this.#consecutiveFailures > 0) return 'failing';
    if (this.#attempt) return this.#installed ? 'renewing' : 'obtaining';
    return this.#installed ? 'valid' : 'obtaining';
  }

  /** The stored certificate, installed, when there is a usable one; problems are logged and mean "obtain a new one". */
  async #loadStored(): Promise<StoredCertificate | undefined> {
    const { directory, domains } = this.#config;
    try {
      await this.#storage.prepare();
      const stored = await this.#storage.readCertificate(directory, domains);
      if (!stored) return undefined;
      if (!stillValid(stored, this.#now())) {
        this.#log.info({ domains, notAfter: stored.notAfter.toISOString() }, 'acme: the stored certificate has expired; obtaining a new one');
        return undefined;
      }
      this.#installCertificate(stored);
      this.#log.info(
        { domains, notAfter: stored.notAfter.toISOString(), renewAt: new Date(renewalTime(stored, this.#config.renewAfterShare)).toISOString() },
        'acme: serving the stored certificate',
      );
      return stored;
    } catch (error) {
      this.#log.warn({ domains, storage: this.#config.storage, err: error }, `acme: the stored certificate is not used (${describe(error)}); obtaining a new one`);
      return undefined;
    }
  }

  #scheduleAttempt(at: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#nextAttemptAt = at;
    // A renewal 60 days away is beyond what one setTimeout can wait: wake up, look at the clock, sleep again.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#now() < at) {
        this.#scheduleAttempt(at);
        return;
      }
      this.#nextAttemptAt = undefined;
      this.#runAttempt().catch((error: unknown) => {
        // #runAttempt catches its own failures; this is the last net against a bug, never a crash.
        this.#log.error({ domains: this.#config.domains, err: error }, 'acme: unexpected failure in the certificate manager');
      });
    }, timerDelay(at, this.#now()));
    // Renewal alone must not keep a process alive that has nothing else to do.
    this.#timer.unref();
  }

  async #runAttempt(): Promise<void> {
    if (this.#closed || this.#attempt) return;
    const attempt = new AbortController();
    this.#attempt = attempt;
    const { domains, directory } = this.#config;
    const renewing = this.#installed !== undefined;
    this.#log.info({ domains, directory }, renewing ? 'acme: renewing the certificate' : 'acme: obtaining a certificate');
    try {
      const obtained = await this.#order(attempt.signal);
      if (this.#closed) return;
      await this.#storage.writeCertificate(directory, domains, obtained);
      const certificate = await this.#storage.readCertificate(directory, domains);
      if (!certificate) throw new Error(`the certificate written to ${this.#config.storage} cannot be read back`);
      if (this.#closed) return;
      this.#installCertificate(certificate);
      this.#consecutiveFailures = 0;
      const next = nextRenewalAttempt(certificate, this.#config.renewAfterShare, this.#now(), this.#retry);
      this.#log.info(
        { domains, names: certificate.names, notAfter: certificate.notAfter.toISOString(), renewAt: new Date(next).toISOString() },
        renewing ? 'acme: certificate renewed' : 'acme: certificate obtained',
      );
      this.#attempt = undefined;
      this.#scheduleAttempt(next);
    } catch (error) {
      if (this.#closed) return;
      this.#consecutiveFailures++;
      this.#failures++;
      this.#lastError = describe(error);
      this.#lastFailureAt = this.#now();
      const retryAfterMs = error instanceof AcmeTransportError ? error.retryAfterMs : undefined;
      const next = this.#lastFailureAt + retryDelay(this.#consecutiveFailures, this.#retry, retryAfterMs);
      this.#log.warn(
        {
          domains,
          directory,
          reason: this.#lastError,
          consecutiveFailures: this.#consecutiveFailures,
          nextAttemptAt: new Date(next).toISOString(),
          notAfter: this.#installed?.notAfter.toISOString(),
        },
        `acme: ${renewing ? 'renewal' : 'obtaining a certificate'} failed: ${this.#lastError}`,
      );
      this.#attempt = undefined;
      this.#scheduleAttempt(next);
    } finally {
      if (this.#attempt === attempt) this.#attempt = undefined;
      this.#challenges.clear();
    }
  }

  /** One ACME order, start to finish: account, order, HTTP-01 challenges, finalize, download. */
  async #order(signal: AbortSignal): Promise<{ cert: string; key: string }> {
    const { domains, directory, email, ca } = this.#config;
    if (domains.length === 0) throw new Error('acme.domains is empty: there is no name to ask a certificate for');
    const acme = await loadAcmeClient();
    const agent = await createCaAgent(ca);
    try {
      return await withAcmeTransport({ agent, signal, requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS }, async () => {
        const accountKey = await this.#accountKey(acme.crypto);
        const client = new acme.Client({ directoryUrl: directory, accountKey, ...ORDER_POLLING });
        const [key, csr] = await acme.crypto.createCsr({ commonName: domains[0], altNames: [...domains] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
        const cert = await client.auto({
          csr,
          email,
          // Configuring `acme:` is the operator's agreement to the CA's terms.
          termsOfServiceAgreed: true,
          // acme-client's own check fetches the challenge through public DNS from here, which says nothing about what the CA sees.
          skipChallengeVerification: true,
          challengePriority: ['http-01'],
          challengeCreateFn: async (authz, challenge, keyAuthorization) => {
            if (challenge.type !== 'http-01') {
              throw new Error(`${authz.identifier.value} offers no HTTP-01 challenge (${challenge.type} is not supported; a wildcard name needs DNS-01)`);
            }
            this.#challenges.set(challenge.token, keyAuthorization);
          },
          challengeRemoveFn: async (_authz, challenge) => {
            this.#challenges.delete(challenge.token);
          },
        });
        return { cert, key: key.toString() };
      });
    } finally {
      agent.destroy();
    }
  }

  /** The stored account key, or a new one stored before first use: a restart finds the same ACME account. */
  async #accountKey(crypto: { createPrivateEcdsaKey(curve: 'P-256'): Promise<Buffer> }): Promise<string> {
    const stored = await this.#storage.readAccountKey();
    if (stored !== undefined) return stored;
    await this.#storage.prepare();
    const created = (await crypto.createPrivateEcdsaKey('P-256')).toString();
    await this.#storage.writeAccountKey(created);
    this.#log.info({ path: this.#storage.accountKeyPath }, 'acme: created an account key');
    return created;
  }

  #installCertificate(certificate: StoredCertificate): void {
    this.#install({ cert: certificate.cert, key: certificate.key, names: certificate.names, notAfter: certificate.notAfter });
    this.#installed = { notBefore: certificate.notBefore, notAfter: certificate.notAfter };
  }
}

/** One line for the log and status(): the message, with the cause's when it adds something. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}
