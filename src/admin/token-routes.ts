/**
 * Tokens through the admin API: list, create (the secret is answered once, in field
 * `token`), show, change and revoke — with the same policy fields as the CLI. Every
 * change goes through the token service and then reloads the token directory, so the
 * proxy applies it to the very next request.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { tokenChangedDetails, tokenCreatedDetails } from '../audit/token-audit.js';
import { badRequest } from '../errors/companion-error.js';
import { parseExpiry } from '../policy/expiry.js';
import type { Token, TokenPolicyInput } from '../policy/token.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { HistoryModeName, ScopeName, TokenView, tokenView } from './api-views.js';

const Limit = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
  description: 'Calls allowed; null lifts the limit.',
});
const Concurrency = Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
  description: 'Requests at once; null lifts the cap.',
});

/**
 * The one shape of a token's limits, the same the token's answer shows in `limits`: a
 * key left out stays as it is on PATCH (no limit on create).
 */
const LimitsInput = Type.Object(
  {
    total: Type.Optional(Limit),
    minute: Type.Optional(Limit),
    hour: Type.Optional(Limit),
    day: Type.Optional(Limit),
    month: Type.Optional(Limit),
    maxConcurrent: Type.Optional(Concurrency),
  },
  { additionalProperties: false },
);
type LimitsInput = Static<typeof LimitsInput>;

/**
 * The flat limit fields the API accepted before `limits`; still read so existing scripts
 * keep working, each the same as its `limits` key. Marked deprecated in the OpenAPI text.
 */
const LEGACY_LIMITS = {
  maxCalls: 'total',
  callsPerMinute: 'minute',
  callsPerHour: 'hour',
  callsPerDay: 'day',
  callsPerMonth: 'month',
  maxConcurrent: 'maxConcurrent',
} as const satisfies Record<string, keyof LimitsInput>;
type LegacyName = keyof typeof LEGACY_LIMITS;

const legacy = (schema: typeof Limit | typeof Concurrency, key: string) =>
  Type.Optional(
    Type.Union(schema.anyOf, { deprecated: true, description: `Deprecated: use limits.${key}.` }),
  );

const policyFields = {
  models: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
      maxItems: 200,
      errorMessage:
        'must be a list of up to 200 model names or globs, such as ["llama3*", "qwen3:*"], or ["*"]',
      description:
        'Model names or globs (llama3*, qwen3:*), or ["*"] for every local model; omitted on create: ["*"]. An empty list is refused.',
    }),
  ),
  scopes: Type.Optional(Type.Array(ScopeName, { maxItems: 10 })),
  limits: Type.Optional(LimitsInput),
  maxCalls: legacy(Limit, 'total'),
  callsPerMinute: legacy(Limit, 'minute'),
  callsPerHour: legacy(Limit, 'hour'),
  callsPerDay: legacy(Limit, 'day'),
  callsPerMonth: legacy(Limit, 'month'),
  maxConcurrent: legacy(Concurrency, 'maxConcurrent'),
  expiresAt: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], {
      description: 'ISO 8601 date; null: never.',
    }),
  ),
  expires: Type.Optional(
    Type.String({ minLength: 1, maxLength: 40, description: 'A span from now (30d, 12h, 2w) or never.' }),
  ),
  historyMode: Type.Optional(HistoryModeName),
  enabled: Type.Optional(Type.Boolean()),
};

/**
 * Fields of the token's answer that a PATCH cannot change; accepted and ignored, so a
 * token as GET answers it can be sent back as is with only the wanted fields edited.
 */
const readOnly = (schema: TSchema) =>
  Type.Optional(Type.Unsafe({ ...schema, readOnly: true, description: 'Read-only: ignored.' }));
const answerFields = {
  id: readOnly(Type.String({ maxLength: 100 })),
  prefix: readOnly(TokenView.properties.prefix),
  status: readOnly(TokenView.properties.status),
  usage: readOnly(TokenView.properties.usage),
  revokedAt: readOnly(TokenView.properties.revokedAt),
  createdAt: readOnly(TokenView.properties.createdAt),
  updatedAt: readOnly(TokenView.properties.updatedAt),
};

const TokenName = Type.String({ minLength: 1, maxLength: 64 });
const CreateBody = Type.Object({ name: TokenName, ...policyFields }, { additionalProperties: false });
const PatchBody = Type.Object(
  { name: Type.Optional(TokenName), ...policyFields, ...answerFields },
  { additionalProperties: false, minProperties: 1 },
);
type PolicyBody = Omit<Static<typeof PatchBody>, 'name' | keyof typeof answerFields>;

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const CreatedToken = Type.Intersect([
  TokenView,
  Type.Object({ token: Type.String({ description: 'The secret. Shown this once, never again.' }) }),
]);

/** `limits` and the older flat names merged. @throws CompanionError 400 when both name one limit. */
function limitsOf(body: PolicyBody): LimitsInput {
  const limits: LimitsInput = { ...body.limits };
  for (const [name, key] of Object.entries(LEGACY_LIMITS) as [LegacyName, keyof LimitsInput][]) {
    const value = body[name];
    if (value === undefined) continue;
    if (limits[key] !== undefined) throw badRequest(`give either limits.${key} or ${name}, not both`);
    limits[key] = value;
  }
  return limits;
}

/**
 * The policy a create or PATCH body asks for. `current` is the token a PATCH changes: its
 * own expiry sent back unchanged is no change, even once it has passed.
 * @throws CompanionError 400 for an unreadable or past expiry, or both expiry fields.
 */
function toPolicy(body: PolicyBody, now: number, current?: Token): TokenPolicyInput {
  const policy: TokenPolicyInput = {};
  if (body.models !== undefined) policy.models = body.models;
  if (body.scopes !== undefined) policy.scopes = body.scopes;
  const { maxConcurrent, ...calls } = limitsOf(body);
  if (Object.keys(calls).length > 0) policy.calls = calls;
  if (maxConcurrent !== undefined) policy.maxConcurrent = maxConcurrent;
  if (body.expiresAt !== undefined && body.expires !== undefined) {
    throw badRequest('give either expiresAt or expires, not both');
  }
  if (body.expiresAt === null) policy.expiresAt = null;
  else if (body.expiresAt !== undefined) {
    const at = Date.parse(body.expiresAt);
    if (Number.isNaN(at))
      throw badRequest(`invalid expiresAt "${body.expiresAt}": expected an ISO 8601 date`);
    if (at !== current?.expiresAt) {
      if (at <= now) throw badRequest('invalid expiresAt: the date is in the past');
      policy.expiresAt = at;
    }
  }
  if (body.expires !== undefined) policy.expiresAt = parseExpiry(body.expires, now);
  if (body.historyMode !== undefined) policy.historyMode = body.historyMode;
  if (body.enabled !== undefined) policy.enabled = body.enabled;
  return policy;
}

export async function tokenRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const { companion } = deps;
  const view = (token: Token) => tokenView(token, companion.ledger.usage(token.id));
  const changed = () => companion.directory.reload();
  const target = (token: Token) => ({ type: 'token', id: token.id, name: token.name });

  api.get(
    '/tokens',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'Every token with its limits and usage',
        tags: ['tokens'],
        response: { 200: Type.Object({ items: Type.Array(TokenView) }) },
      },
    },
    async () => ({ items: companion.tokens.list().map(view) }),
  );

  api.post(
    '/tokens',
    {
      onRequest: deps.requireRole('admin'),
      config: { auditAction: 'token.create', auditTarget: 'token' },
      schema: {
        summary: 'Create a token; the answer holds the secret once, in field token',
        tags: ['tokens'],
        body: CreateBody,
        response: { 201: CreatedToken },
      },
    },
    async (request, reply) => {
      const { name, ...fields } = request.body;
      const policy = toPolicy(fields, Date.now());
      const { token, secret } = companion.tokens.create(name, policy);
      changed();
      await deps.audit(request, 'token.create', target(token), tokenCreatedDetails(token));
      return reply.code(201).send({ ...view(token), token: secret });
    },
  );

  api.get(
    '/tokens/:id',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'One token (by id or name) with its limits and usage',
        tags: ['tokens'],
        params: IdParams,
        response: { 200: TokenView },
      },
    },
    async (request) => view(companion.tokens.get(request.params.id)),
  );

  api.patch(
    '/tokens/:id',
    {
      onRequest: deps.requireRole('admin'),
      config: { auditAction: 'token.update', auditTarget: 'token' },
      schema: {
        summary: 'Change a token’s name or policy; applies to the next request',
        tags: ['tokens'],
        params: IdParams,
        body: PatchBody,
        response: { 200: TokenView },
      },
    },
    async (request) => {
      const { name, id, prefix, status, usage, revokedAt, createdAt, updatedAt, ...fields } = request.body;
      const before = companion.tokens.get(request.params.id);
      if (id !== undefined && id !== before.id) {
        throw badRequest(`id "${id}" in the body is not the id of token "${before.name}" (${before.id})`);
      }
      const policy = toPolicy(fields, Date.now(), before);
      const token = companion.tokens.update(before.id, {
        ...policy,
        ...(name !== undefined ? { name } : {}),
      });
      changed();
      await deps.audit(request, 'token.update', target(token), tokenChangedDetails(before, token));
      return view(token);
    },
  );

  api.delete(
    '/tokens/:id',
    {
      onRequest: deps.requireRole('admin'),
      config: { auditAction: 'token.revoke', auditTarget: 'token' },
      schema: {
        summary: 'Revoke a token: refused from the next request on, for good',
        tags: ['tokens'],
        params: IdParams,
        response: { 200: TokenView },
      },
    },
    async (request) => {
      const token = companion.tokens.revoke(request.params.id);
      changed();
      await deps.audit(request, 'token.revoke', target(token), null);
      return view(token);
    },
  );
}
