import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { KernelErrors } from '../errors.ts';
import { normalizeDomain } from '../instances/domain.ts';
import type { InstanceService } from '../instances/instance-service.ts';
import './request-context.ts';

/**
 * Host → instance for every route except those marked `config: { cozy: { instance: false } }`.
 * Registered with fastify-plugin so the hook applies to every plugin's encapsulated routes.
 */
export const instanceResolution = fp(
  async (app: FastifyInstance, opts: { instances: InstanceService }) => {
    app.decorateRequest('instance', undefined);
    app.addHook('onRequest', async (req) => {
      if (req.routeOptions.config?.cozy?.instance === false) return;
      const host = req.headers.host;
      if (!host) throw KernelErrors.badRequest('Missing Host header');
      const domain = normalizeDomain(host);
      const instance = await opts.instances.find(domain);
      if (!instance) throw KernelErrors.instanceNotFound(`Instance not found: ${domain}`);
      req.instance = instance;
    });
  },
  { name: 'cozy-instance-resolution', fastify: '5.x' },
);
