/** Whether a token may call an endpoint with the models it names. */
import { CompanionError } from '../errors/companion-error.js';
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
      throw new CompanionError('forbidden_model', 403, `this token may not use model "${model}"`);
    }
  }
}
