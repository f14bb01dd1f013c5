import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readAdminCredential, setAdminPassphrase } from '../auth/admin-passphrase.ts';
import { BootError } from '../boot/boot-error.ts';
import { loadConfigFile, type ResolvedConfig } from '../boot/config.ts';
import { loadPlugins } from '../boot/load-plugins.ts';
import { serve } from '../boot/serve.ts';
import { KERNEL_VERSION } from '../version.ts';
import { AdminClient, AdminClientError } from './admin-client.ts';
import { describeGraph } from './describe-graph.ts';
import { parseSize } from './parse-size.ts';

class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Command {
  usage: string;
  summary: string;
  options?: Options;
  run(args: { values: Values; positionals: string[]; out: Output }): Promise<void>;
}

export interface Output {
  log(line: string): void;
  error(line: string): void;
}

const common: Options = {
  config: { type: 'string', short: 'c' },
  'admin-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

function configPath(values: Values): string {
  const given = (values.config as string | undefined) ?? process.env.COZY_CONFIG;
  if (given) return resolve(given);
  for (const name of ['cozy.config.ts', 'cozy.config.js', 'cozy.config.mjs']) {
    if (existsSync(resolve(name))) return resolve(name);
  }
  throw new UsageError('no cozy.config.ts in this folder; pass --config <file> or set COZY_CONFIG');
}

async function config(values: Values): Promise<ResolvedConfig> {
  return loadConfigFile(configPath(values));
}

async function admin(values: Values): Promise<AdminClient> {
  const cfg = await config(values);
  const url = (values['admin-url'] as string | undefined) ?? process.env.COZY_ADMIN_URL ?? `http://${cfg.admin.host}:${cfg.admin.port}/`;
  return new AdminClient({ url, passphrase: await readAdminCredential(cfg.storage) });
}

async function token(values: Values, body: Record<string, string>): Promise<string> {
  return (await admin(values)).request<string>('POST', '/instances/token', body);
}

function requireDomain(positionals: string[]): string {
  const domain = positionals[0];
  if (!domain) throw new UsageError('missing <domain>');
  return domain;
}

interface InstanceJson {
  data: { id: string; attributes: Record<string, unknown> };
}

function printInstance(out: Output, inst: InstanceJson['data']): void {
  for (const [k, v] of Object.entries(inst.attributes)) out.log(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
}

const instanceFields: Options = {
  email: { type: 'string' },
  'public-name': { type: 'string' },
  locale: { type: 'string' },
  tz: { type: 'string' },
  'disk-quota': { type: 'string' },
};

function instanceBody(values: Values): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (values.email !== undefined) body.Email = values.email;
  if (values['public-name'] !== undefined) body.PublicName = values['public-name'];
  if (values.locale !== undefined) body.Locale = values.locale;
  if (values.tz !== undefined) body.Timezone = values.tz;
  if (values['disk-quota'] !== undefined) {
    try {
      body.DiskQuota = parseSize(values['disk-quota'] as string);
    } catch (err) {
      throw new UsageError(`--disk-quota: ${(err as Error).message}`);
    }
  }
  return body;
}

const commands: Record<string, Command> = {
  serve: {
    usage: 'serve [--config FILE]',
    summary: 'start the server (public HTTP and admin API)',
    async run({ values }) {
      const server = await serve(await config(values), { handleSignals: true });
      server.ready.catch(async (err: unknown) => {
        process.stderr.write(`${(err as Error).message}\n`);
        await server.close();
        process.exit(1);
      });
      await new Promise<never>(() => undefined);
    },
  },
  'instances add': {
    usage: 'instances add <domain> [--passphrase P] [--email E] [--public-name N] [--locale L] [--tz TZ] [--disk-quota 5GB]',
    summary: 'create an instance (with a passphrase it is onboarded at once, else an onboarding link is printed)',
    options: { ...instanceFields, passphrase: { type: 'string' } },
    async run({ values, positionals, out }) {
      const body = { Domain: requireDomain(positionals), ...instanceBody(values) } as Record<string, unknown>;
      if (values.passphrase !== undefined) body.Passphrase = values.passphrase;
      const res = await (await admin(values)).request<InstanceJson>('POST', '/instances', body);
      out.log(`Instance created: ${res.data.id}`);
      const token = res.data.attributes.register_token;
      if (token) out.log(`Onboarding link: http://${res.data.id}/?registerToken=${String(token)}`);
    },
  },
  'instances ls': {
    usage: 'instances ls [--json]',
    summary: 'list instances',
    options: { json: { type: 'boolean' } },
    async run({ values, out }) {
      const res = await (await admin(values)).request<{ data: InstanceJson['data'][] }>('GET', '/instances');
      if (values.json) return out.log(JSON.stringify(res.data.map((d) => d.attributes), null, 2));
      for (const d of res.data) {
        const a = d.attributes;
        out.log(`${d.id}\t${a.onboarding_finished ? 'onboarded' : 'not onboarded'}\t${String(a.locale)}\t${String(a.prefix)}`);
      }
    },
  },
  'instances show': {
    usage: 'instances show <domain> [--json]',
    summary: 'show an instance',
    options: { json: { type: 'boolean' } },
    async run({ values, positionals, out }) {
      const domain = encodeURIComponent(requireDomain(positionals));
      const res = await (await admin(values)).request<InstanceJson>('GET', `/instances/${domain}`);
      if (values.json) return out.log(JSON.stringify(res.data.attributes, null, 2));
      printInstance(out, res.data);
    },
  },
  'instances modify': {
    usage: 'instances modify <domain> [--email E] [--public-name N] [--locale L] [--tz TZ] [--disk-quota 5GB|0]',
    summary: 'change an instance (a disk quota of 0 removes the quota)',
    options: instanceFields,
    async run({ values, positionals, out }) {
      const body = instanceBody(values);
      if (Object.keys(body).length === 0) throw new UsageError('nothing to modify: give at least one option');
      const domain = encodeURIComponent(requireDomain(positionals));
      const res = await (await admin(values)).request<InstanceJson>('PATCH', `/instances/${domain}`, body);
      printInstance(out, res.data);
    },
  },
  'instances rm': {
    usage: 'instances rm <domain> --force',
    summary: 'destroy an instance and all its data',
    options: { force: { type: 'boolean' } },
    async run({ values, positionals, out }) {
      const domain = requireDomain(positionals);
      if (!values.force) throw new UsageError(`this deletes every document and file of ${domain}; add --force to confirm`);
      await (await admin(values)).request('DELETE', `/instances/${encodeURIComponent(domain)}`);
      out.log(`Instance destroyed: ${domain}`);
    },
  },
  'instances token-app': {
    usage: 'instances token-app <domain> <slug>',
    summary: 'print an app token for a web app (valid 30 minutes without a session)',
    async run({ values, positionals, out }) {
      const [domain, slug] = positionals;
      if (!domain || !slug) throw new UsageError('give <domain> and <slug>');
      out.log(await token(values, { Domain: domain, Audience: 'app', Subject: slug }));
    },
  },
  'instances token-cli': {
    usage: 'instances token-cli <domain> <scope>',
    summary: 'print a CLI token with the given permission scope (e.g. "io.cozy.files io.cozy.settings:GET"), valid 30 minutes',
    async run({ values, positionals, out }) {
      const [domain, ...scope] = positionals;
      if (!domain || scope.length === 0) throw new UsageError('give <domain> and a <scope>');
      out.log(await token(values, { Domain: domain, Audience: 'cli', Scope: scope.join(' ') }));
    },
  },
  'instances token-oauth': {
    usage: 'instances token-oauth <domain> <client-id> <scope>',
    summary: 'print an OAuth access token for a registered client, valid 7 days',
    async run({ values, positionals, out }) {
      const [domain, clientId, ...scope] = positionals;
      if (!domain || !clientId || scope.length === 0) throw new UsageError('give <domain>, <client-id> and a <scope>');
      out.log(await token(values, { Domain: domain, Audience: 'access', Subject: clientId, Scope: scope.join(' ') }));
    },
  },
  'instances client-oauth': {
    usage: 'instances client-oauth <domain> <redirect-uri> <client-name> <software-id> [--json]',
    summary: 'register an OAuth client and print its client_id (or the whole registration with --json)',
    options: { json: { type: 'boolean' } },
    async run({ values, positionals, out }) {
      const [domain, redirectUri, clientName, softwareId] = positionals;
      if (!domain || !redirectUri || !clientName || !softwareId) throw new UsageError('give <domain> <redirect-uri> <client-name> <software-id>');
      const client = await (await admin(values)).request<Record<string, unknown>>('POST', '/instances/oauth_client', {
        Domain: domain, RedirectURI: redirectUri, ClientName: clientName, SoftwareID: softwareId,
      });
      out.log(values.json ? JSON.stringify(client, null, 2) : String(client.client_id));
    },
  },
  'instances set-passphrase': {
    usage: 'instances set-passphrase <domain> <new-passphrase>',
    summary: 'replace the passphrase (every browser session and OAuth token of the instance stops working)',
    async run({ values, positionals, out }) {
      const [domain, passphrase] = positionals;
      if (!domain || !passphrase) throw new UsageError('give <domain> and <new-passphrase>');
      await (await admin(values)).request('POST', `/instances/${encodeURIComponent(domain)}/passphrase`, { Passphrase: passphrase });
      out.log(`Passphrase changed for ${domain}`);
    },
  },
  'instances fsck': {
    usage: 'instances fsck <domain> [--index-integrity | --files-consistency] [--fail-fast] [--json]',
    summary: 'check the files of an instance (served by the files plugin); prints each anomaly, exits 1 when any',
    options: { 'index-integrity': { type: 'boolean' }, 'files-consistency': { type: 'boolean' }, 'fail-fast': { type: 'boolean' }, json: { type: 'boolean' } },
    async run({ values, positionals, out }) {
      const domain = requireDomain(positionals);
      const query = new URLSearchParams();
      if (values['index-integrity']) query.set('IndexIntegrity', 'true');
      if (values['files-consistency']) query.set('FilesConsistency', 'true');
      if (values['fail-fast']) query.set('FailFast', 'true');
      const text = await (await admin(values)).requestText('GET', `/instances/${encodeURIComponent(domain)}/fsck?${query}`);
      let anomalies = 0;
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        const log = JSON.parse(line) as Record<string, unknown>;
        // The stream ends with {"error": ...} when the check itself could not run to its end.
        if (log.error !== undefined && log.type === undefined) throw new AdminClientError(`fsck failed: ${String(log.error)}`, 1);
        anomalies++;
        out.log(values.json ? line : describeAnomaly(log));
      }
      if (anomalies > 0) throw new AdminClientError(`${anomalies} anomal${anomalies === 1 ? 'y' : 'ies'} found on ${domain}`, 1);
      if (!values.json) out.log(`No anomaly found on ${domain}`);
    },
  },
  'config check': {
    usage: 'config check [--config FILE]',
    summary: 'validate the config and every enabled plugin, and print the plugin graph',
    async run({ values, out }) {
      const cfg = await config(values);
      const loaded = await loadPlugins(cfg);
      out.log(`Config OK: ${cfg.file}`);
      for (const line of describeGraph(loaded)) out.log(line);
    },
  },
  'config passwd': {
    usage: 'config passwd [--passphrase P] [--no-keep]',
    summary: 'set the admin passphrase (read from COZY_NEW_ADMIN_PASSPHRASE or --passphrase); restart the server to apply',
    options: { passphrase: { type: 'string' }, 'no-keep': { type: 'boolean' } },
    async run({ values, out }) {
      const cfg = await config(values);
      const pass = (values.passphrase as string | undefined) ?? process.env.COZY_NEW_ADMIN_PASSPHRASE;
      if (!pass || pass.length < 8) throw new UsageError('give a passphrase of at least 8 characters');
      await setAdminPassphrase(cfg.storage, pass, !values['no-keep']);
      out.log('Admin passphrase updated; restart the server to use it.');
    },
  },
  'plugins ls': {
    usage: 'plugins ls [--config FILE]',
    summary: 'list enabled plugins with their versions, capabilities and prefixes',
    async run({ values, out }) {
      const loaded = await loadPlugins(await config(values));
      for (const p of loaded.plugins) {
        const m = p.plugin.manifest;
        out.log(`${m.id}\t${p.packageName}@${m.version}\t${m.prefix || '-'}`);
      }
    },
  },
};

/** One line per fsck anomaly: its kind, then the file or directory it is about. */
function describeAnomaly(log: Record<string, unknown>): string {
  const doc = (log.file_doc ?? log.dir_doc) as { path?: string; _id?: string; name?: string } | undefined;
  const where = doc?.path ?? doc?.name ?? doc?._id ?? '';
  const extra = log.content_mismatch ?? log.error;
  return [String(log.type), where, extra === undefined ? '' : JSON.stringify(extra)].filter(Boolean).join('  ');
}

function help(out: Output): void {
  out.log(`cozy ${KERNEL_VERSION}: a personal cloud server\n\nUsage: cozy <command> [options]\n\nCommands:`);
  for (const c of Object.values(commands)) out.log(`  ${c.usage.padEnd(60)} ${c.summary}`);
  out.log('\nCommon options: --config FILE (default ./cozy.config.ts), --admin-url URL, --help');
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage, 3 server unreachable, 4 not found). */
export async function runCli(argv: string[], out: Output = { log: (l) => console.log(l), error: (l) => console.error(l) }): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = [`${words[0]} ${words[1]}`, words[0]].find((n) => n !== undefined && commands[n]);
  if (!name) {
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || words[0] === 'help') {
      help(out);
      return argv.length === 0 ? 2 : 0;
    }
    out.error(`unknown command: ${words.slice(0, 2).join(' ') || argv.join(' ')}\n`);
    help(out);
    return 2;
  }
  const cmd = commands[name] as Command;
  const rest = argv.slice();
  for (const w of name.split(' ')) rest.splice(rest.indexOf(w), 1);
  try {
    const { values, positionals } = parseArgs({ args: rest, options: { ...common, ...cmd.options }, allowPositionals: true, strict: true });
    if (values.help) {
      out.log(`Usage: cozy ${cmd.usage}\n\n${cmd.summary}`);
      return 0;
    }
    await cmd.run({ values: values as Values, positionals, out });
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.error(`cozy ${name}: ${(err as Error).message}\nUsage: cozy ${cmd.usage}`);
      return 2;
    }
    if (err instanceof AdminClientError) {
      out.error(`cozy ${name}: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof BootError) {
      out.error(err.message);
      return 1;
    }
    // Errors we raise on purpose say what to do; anything else keeps its stack for a bug report.
    const known = err instanceof Error && (err.cause !== undefined || (err as { code?: string }).code?.startsWith('COZY_ERR'));
    out.error(`cozy ${name}: ${known ? (err as Error).message : ((err as Error).stack ?? String(err))}`);
    return 1;
  }
}
