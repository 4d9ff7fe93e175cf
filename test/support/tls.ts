/**
 * Certificates made by the tests themselves (EC P-256, so in milliseconds): never keys
 * committed to the repository.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface Pem {
  readonly key: string;
  readonly cert: string;
}

const BASE = { keyType: 'ec', algorithm: 'sha256' } as const;

/** A certificate authority that can sign the others. */
export async function makeCa(name = 'rxlb test CA'): Promise<Pem> {
  const ca = await generate([{ name: 'commonName', value: name }], {
    ...BASE,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { key: ca.private, cert: ca.cert };
}

/**
 * A certificate `ca` signs, for a server on 127.0.0.1 (and the host names `dnsNames`, e.g. a
 * balanced channel's authority) or for a client.
 */
export async function issue(
  ca: Pem,
  use: 'server' | 'client',
  dnsNames: readonly string[] = [],
): Promise<Pem> {
  const names = dnsNames.map((value) => ({ type: 2 as const, value }));
  const pems = await generate([{ name: 'commonName', value: `rxlb test ${use}` }], {
    ...BASE,
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: use === 'server', clientAuth: use === 'client' },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, ...names] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** Writes PEM files into a fresh temporary folder, for the `CONSUL_*` variables. */
export function pemFiles(files: Readonly<Record<string, string>>): {
  readonly paths: Readonly<Record<string, string>>;
  remove(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'rxlb-tls-'));
  const paths: Record<string, string> = {};
  for (const [name, pem] of Object.entries(files)) {
    paths[name] = join(dir, `${name}.pem`);
    writeFileSync(paths[name], pem);
  }
  return { paths, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
