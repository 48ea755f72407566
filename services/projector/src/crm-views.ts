import { createAnalyticsView, hrView, salesView, serviceView, type ViewDefinition } from '@crm/projections';
import type { ViewKeys } from './view-keys.ts';

/** The views every CRM process serves; the analytics view's pseudonyms come from the view secret. */
export function crmViews(viewKeys: ViewKeys): ViewDefinition[] {
  return [serviceView, salesView, hrView, createAnalyticsView({ pseudonymise: (id) => viewKeys.pseudonymise('analytics', id) })];
}
