/*
 * What this repository publishes: the committed app-configs, the CI
 * simulator's default secrets and the docs' examples, read from disk. The
 * production start must hold none of the simulator's values, and every
 * literal secret published anywhere must be in PUBLISHED_SECRETS, so that a
 * production start refuses it.
 */
import { ConfigReader } from '@backstage/config';
import { JsonObject, JsonValue } from '@backstage/types';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { findPublishedSecrets, PUBLISHED_SECRETS } from './publishedSecrets';

const ROOT = path.resolve(__dirname, '../../../..');

/** Keys whose value is a credential or a signing secret. */
const SECRET_KEY =
  /(token|secret|api_?key|password|passwd|private_?key|signing|credential)/i;
/** Names of env variables and headers that carry one, not the secret itself. */
const NAME_OF_SECRET = /(env|header|name)$/i;

const read = (...parts: string[]) =>
  fs.readFileSync(path.join(ROOT, ...parts), 'utf8');

function parseYaml(text: string, where: string): JsonValue[] {
  return YAML.parseAllDocuments(text).map(doc => {
    if (doc.errors.length > 0) {
      throw new Error(`${where}: ${doc.errors[0].message}`);
    }
    return doc.toJS() as JsonValue;
  });
}

interface Found {
  where: string;
  key: string;
  value: string;
}

/** Every literal string (no `${...}`) under a secret-looking key. */
function literalSecrets(
  value: JsonValue | undefined,
  where: string,
  key = '',
): Found[] {
  if (typeof value === 'string') {
    const leaf =
      key
        .replace(/\[\d+\]$/, '')
        .split('.')
        .pop() ?? '';
    return SECRET_KEY.test(leaf) &&
      !NAME_OF_SECRET.test(leaf) &&
      !value.includes('${') &&
      value.trim() !== ''
      ? [{ where, key, value }]
      : [];
  }
  if (Array.isArray(value)) {
    return value.flatMap((v, i) => literalSecrets(v, where, `${key}[${i}]`));
  }
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      literalSecrets(v, where, key ? `${key}.${k}` : k),
    );
  }
  return [];
}

/**
 * `key: value`, `key=value`, `"key": "value"` in code that is not YAML; in
 * TypeScript only quoted values are literals (`secret: string` is a type).
 */
function literalSecretsInCode(
  text: string,
  where: string,
  quotedOnly = false,
): Found[] {
  const found: Found[] = [];
  const assignment =
    /(?<![\w.])["']?([A-Za-z_][\w-]*)["']?\s*[:=]\s*(?:(["'])(.*?)\2|([^"'\s,;)}]+))/g;
  for (const m of text.matchAll(assignment)) {
    const [, key, , quoted, bare] = m;
    const value = quoted ?? (quotedOnly ? undefined : bare);
    if (
      SECRET_KEY.test(key) &&
      !NAME_OF_SECRET.test(key) &&
      value &&
      !value.includes('${') &&
      !value.startsWith('process.env')
    ) {
      found.push({ where, key, value });
    }
  }
  return found;
}

function committedConfigs(): string[] {
  // app-config.local.yaml is git-ignored: a developer's own secrets.
  return fs
    .readdirSync(ROOT)
    .filter(f => /^app-config(\..+)?\.yaml$/.test(f) && !/\.local\./.test(f))
    .sort();
}

function filesUnder(dir: string, suffix: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      return filesUnder(full, suffix);
    }
    return entry.name.endsWith(suffix) ? [full] : [];
  });
}

function docsSecrets(): Found[] {
  return filesUnder(path.join(ROOT, 'docs'), '.md').flatMap(file => {
    const where = path.relative(ROOT, file);
    const text = fs.readFileSync(file, 'utf8');
    const fence = /^([ \t]*)```([\w-]*)[^\n]*\n([\s\S]*?)^\1```/gm;
    return [...text.matchAll(fence)].flatMap(([, indent, lang, body]) => {
      const code = body.replace(new RegExp(`^${indent}`, 'gm'), '');
      return /^ya?ml$/.test(lang)
        ? parseYaml(code, where).flatMap(doc => literalSecrets(doc, where))
        : literalSecretsInCode(code, where, /^(ts|tsx|js|jsx)$/.test(lang));
    });
  });
}

function simulatorSecrets(): Found[] {
  const src = path.join(ROOT, 'packages/ci-simulator/src');
  return filesUnder(src, '.ts')
    .filter(f => !/\.test\.ts$|__testUtils__/.test(f))
    .flatMap(file =>
      literalSecretsInCode(
        fs.readFileSync(file, 'utf8'),
        path.relative(ROOT, file),
        true,
      ),
    );
}

/** The config a start with these files reads, `${VAR}` set to placeholders. */
function loadConfig(...files: string[]) {
  const substitute = (value: JsonValue | undefined): JsonValue => {
    if (typeof value === 'string') {
      return value.replace(/\$\{(\w+)\}/g, (_, name) => `placeholder-${name}`);
    }
    if (Array.isArray(value)) {
      return value.map(substitute);
    }
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, substitute(v)]),
      );
    }
    return value ?? null;
  };
  return ConfigReader.fromConfigs(
    files.map(file => ({
      context: file,
      data: substitute(parseYaml(read(file), file)[0]) as JsonObject,
    })),
  );
}

function strings(value: JsonValue | undefined): string[] {
  if (typeof value === 'string') {
    return [value];
  }
  if (Array.isArray(value)) {
    return value.flatMap(strings);
  }
  if (value && typeof value === 'object') {
    return Object.values(value).flatMap(strings);
  }
  return [];
}

const published = new Set(PUBLISHED_SECRETS.map(s => s.value));

describe('the secrets this repository publishes', () => {
  it('are all in PUBLISHED_SECRETS: committed configs, simulator defaults, docs examples', () => {
    const configs = committedConfigs().flatMap(file =>
      parseYaml(read(file), file).flatMap(doc => literalSecrets(doc, file)),
    );
    const simulator = simulatorSecrets();
    const docs = docsSecrets();

    // The scanners find what they are meant to: the demo's and the
    // simulator's secrets, and every docs file with a config example.
    expect(configs.map(f => `${f.where} ${f.key}`)).toEqual(
      expect.arrayContaining([
        'app-config.demo.yaml events.modules.github.webhookSecret',
        'app-config.demo.yaml ciExperience.providers.jenkins.instances[0].apiKey',
      ]),
    );
    expect(simulator.map(f => f.value)).toEqual(
      expect.arrayContaining([
        'simulator-webhook-secret',
        '11d1e4c0ffee5ba5e0123456789abcde',
      ]),
    );
    const missing = [...configs, ...simulator, ...docs].filter(
      f => !published.has(f.value),
    );
    expect(missing).toEqual([]);
  });

  it('include no value of the environment-variable kind', () => {
    expect(PUBLISHED_SECRETS.filter(s => s.value.includes('${'))).toEqual([]);
  });
});

describe('the documented production start (app-config.yaml + app-config.production.yaml)', () => {
  const config = loadConfig('app-config.yaml', 'app-config.production.yaml');

  it('holds no published secret', () => {
    expect(findPublishedSecrets(config)).toEqual([]);
    expect(strings(config.getOptional()).filter(s => published.has(s))).toEqual(
      [],
    );
  });

  it('does not reach the CI simulator nor enable its providers', () => {
    expect(
      strings(config.getOptional()).filter(s => s.includes('localhost:7008')),
    ).toEqual([]);
    expect(config.getOptional('integrations.gitlab')).toBeUndefined();
    for (const provider of ['jenkins', 'buildkite', 'circleci']) {
      expect(
        config.getOptional(`ciExperience.providers.${provider}`),
      ).toBeUndefined();
    }
    expect(config.getOptional('events.modules.gitlab')).toBeUndefined();
    expect(config.getOptional('ciExperience.providers.gitlab')).toBeUndefined();
  });

  it('reads its webhook secret from the environment', () => {
    expect(config.getString('events.modules.github.webhookSecret')).toBe(
      'placeholder-GITHUB_WEBHOOK_SECRET',
    );
  });
});

describe('the demo config (app-config.yaml + app-config.demo.yaml)', () => {
  const config = loadConfig('app-config.yaml', 'app-config.demo.yaml');

  it('says it is not for production', () => {
    expect(read('app-config.demo.yaml')).toMatch(/NEVER use it for production/);
  });

  it('carries the simulator: its integrations, webhook secrets and providers', () => {
    expect(
      config
        .getConfigArray('integrations.github')
        .map(c => c.getString('host')),
    ).toEqual(['localhost:7008', 'github.com']);
    expect(
      config.getConfigArray('integrations.gitlab')[0].getString('apiBaseUrl'),
    ).toBe('http://localhost:7008/gitlab/api/v4');
    for (const provider of ['jenkins', 'buildkite', 'circleci']) {
      expect(
        config.getOptional(`ciExperience.providers.${provider}`),
      ).toBeDefined();
    }
    expect(findPublishedSecrets(config)).toEqual(
      expect.arrayContaining([
        'events.modules.github.webhookSecret',
        'ciExperience.providers.gitlab.webhookSecret',
        'ciExperience.providers.jenkins.webhookToken',
      ]),
    );
    // The base's own settings still apply.
    expect(config.getString('events.useEventBus')).toBe('never');
    expect(
      config.getOptionalConfigArray('ciExperience.branchAllowList'),
    ).toHaveLength(1);
  });

  it("allows every demo entity's CI sources", () => {
    // Source names as the providers form them from these annotations.
    const sourceOf: Record<string, (v: string) => [string, string]> = {
      'github.com/project-slug': v => ['github-actions', v],
      'gitlab.com/project-slug': v => ['gitlab', v],
      'jenkins.io/job-full-name': v => ['jenkins', v],
      'buildkite.com/pipeline-slug': v => ['buildkite', v],
      'circleci.com/project-slug': v => ['circleci', v],
    };
    const allow = config
      .getConfigArray('ciExperience.sources.allow')
      .map(entry => ({
        provider: entry.getString('provider'),
        // `*` matches any run of characters, `/` included.
        pattern: new RegExp(
          `^${entry
            .getString('source')
            .split('*')
            .map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        ),
      }));
    const sources = parseYaml(read('examples/entities.yaml'), 'entities')
      .flatMap(entity =>
        Object.entries(
          ((entity as JsonObject).metadata as JsonObject).annotations ?? {},
        ),
      )
      .filter(([name]) => name in sourceOf)
      .map(([name, value]) => sourceOf[name](String(value)));
    expect(new Set(sources.map(([provider]) => provider)).size).toBe(5);
    expect(
      sources.filter(
        ([provider, source]) =>
          !allow.some(a => a.provider === provider && a.pattern.test(source)),
      ),
    ).toEqual([]);
  });
});
