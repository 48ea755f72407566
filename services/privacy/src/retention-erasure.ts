/**
 * The scheduler's erasure, through the privacy service: an erasure request (Art. 17) made by
 * the scheduler's principal, carried out at once, with its receipt and audit entries like
 * any other; the holds come from the privacy index every process keeps.
 */
import type { PrivacyIndex } from './privacy-index.ts';
import type { PrivacyActor, PrivacyService } from './privacy-service.ts';
import type { RetentionErasure } from './retention-scheduler.ts';

export function privacyServiceErasure(options: { service: PrivacyService; index: PrivacyIndex; actor?: PrivacyActor }): RetentionErasure {
  const actorOf = (requestedBy: string): PrivacyActor => options.actor ?? { id: requestedBy, roles: ['dpo'] };
  return {
    async erase(subjectId, reason, requestedBy) {
      const request = await options.service.submit({ kind: 'erasure', subjectId, reason, carryOut: true }, actorOf(requestedBy));
      if (request.state === 'done') return { state: 'done', requestId: request.requestId };
      return {
        state: 'refused',
        requestId: request.requestId,
        ...(request.refusal ? { reason: request.refusal.rule } : {}),
        ...(request.refusal?.holdIds ? { holdIds: request.refusal.holdIds } : {}),
      };
    },
    async holdsOf(subjectId) {
      await options.index.start();
      return (options.index.subject(subjectId)?.holds ?? []).map(({ holdId, legalBasis, until, released }) => ({ holdId, legalBasis, until, released }));
    },
  };
}
