export * from './view.ts';
export { serviceView, SERVICE_COLLECTIONS } from './service/view.ts';
export { salesView, SALES_COLLECTIONS, winRate } from './sales/view.ts';
export { hrView, HR_COLLECTIONS } from './hr/view.ts';
export { createAnalyticsView, ANALYTICS_COLLECTIONS, type AnalyticsOptions } from './analytics/view.ts';
export { ageBand, region, tenureBand } from './analytics/generalise.ts';
