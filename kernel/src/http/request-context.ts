import type { FastifyRequest } from 'fastify';
import { KernelErrors } from '../errors.ts';
import type { InstanceDoc } from '../instances/instance.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The instance the Host header names; set by the kernel before any plugin route runs. */
    instance?: InstanceDoc;
  }
  interface FastifyContextConfig {
    /** `instance: false` marks a route that answers for any Host (e.g. /status). */
    cozy?: { instance?: boolean };
  }
}

/** The request's instance; routes that need one are behind the kernel's Host resolution, so this only guards typing. */
export function instanceOf(req: FastifyRequest): InstanceDoc {
  if (!req.instance) throw KernelErrors.instanceNotFound();
  return req.instance;
}
