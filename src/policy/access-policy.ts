/** Whether a token may call an endpoint with the models it names. */
import { CompanionError } from '../errors/companion-error.js';
import { isCloudModel } from './model-rules.js';
import type { Scope } from './token.js';

export interface AccessSubject {
  scopes: readonly Scope[];
  allowsModel: (model: string) => boolean;
}

/** @throws CompanionError 403 naming the missing scope or the refused model. */
export function authorize(subject: AccessSubject, scope: Scope, models: readonly string[]): void {
  if (!subject.scopes.includes(scope)) {
    throw new CompanionError('forbidden_scope', 403, `this token lacks the "${scope}" scope needed here`);
  }
  for (const model of models) {
    if (!subject.allowsModel(model)) {
      const message = isCloudModel(model)
        ? `"${model}" is a cloud model, billed to the owner's ollama.com account; this token has no cloud grant for it`
        : `this token may not use model "${model}"`;
      throw new CompanionError('forbidden_model', 403, message);
    }
  }
}
