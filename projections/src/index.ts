export * from './view.ts';
export { serviceView, SERVICE_COLLECTIONS } from './service/view.ts';
export { salesView, SALES_COLLECTIONS } from './sales/view.ts';
export {
  SALES_KPIS,
  computeKpis,
  dealKpiFields,
  winRate,
  type DealKpiFields,
  type KpiName,
  type KpiQuery,
  type PipelineKpi,
  type RevenueKpi,
  type SalesKpis,
  type WinRateKpi,
} from './sales/kpis.ts';
export { hrView, HR_COLLECTIONS } from './hr/view.ts';
export { createAnalyticsView, ANALYTICS_COLLECTIONS, type AnalyticsOptions } from './analytics/view.ts';
export { ageBand, region, tenureBand } from './analytics/generalise.ts';
export { fieldRecipients, type FieldRecipient } from './field-recipients.ts';
