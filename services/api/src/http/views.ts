/**
 * The query API of the read models.
 *
 * `GET /v1/views/{view}/{collection}` reads one collection of a view (logical name
 * `{view}/{collection}`, e.g. `/v1/views/service/case-notes` → `service/case-notes`): a page
 * of documents, or with `pipeline` an aggregation. Query parameters: see view-query.ts; the
 * allow-list: see view-access.ts. An answer that shows personal data is recorded in the
 * audit log (ids only) before it is sent; if that fails, nothing is sent but a 503.
 *
 * `GET /v1/views/sales/kpis` runs the sales KPI aggregations, for management only.
 *
 * Every answer names the view's position (`position`, header `CRM-View-Position`): the
 * global position the view had applied every event up to before the query ran.
 */
import { type ErrorRequestHandler, type Response, Router } from 'express';
import { AuditUnavailable, Forbidden, UnknownView, ViewBehind } from '@crm/contracts';
import type { AuditLog, Document, Logger, ReadStore } from '@crm/core';
import { type CollectionDefinition, type KpiQuery, SALES_KPIS, type ViewDefinition } from '@crm/projections';
import type { ViewReader } from '@crm/projector';
import { parsePipeline } from '@crm/read-query';
import type { Principal } from './auth.ts';
import {
  type AccessContext,
  assertMayUseCollection,
  checkFilter,
  checkPipeline,
  checkSort,
  filterToMongo,
  holdsReadablePersonalValue,
  projectDocument,
  readablePersonalFields,
  subjectIdsOf,
} from './view-access.ts';
import { viewReadEntry } from './view-audit.ts';
import { pipelineWithRestrictions, restrictionFilter, withRestrictions } from './view-restrictions.ts';
import { parseKpiQuery, parseViewQuery } from './view-query.ts';

export const VIEW_POSITION_HEADER = 'CRM-View-Position';
export const DEFAULT_VIEW_WAIT_MS = 2000;
const KPI_ROLE = 'management';

export interface ViewRoutesDeps {
  reader: ViewReader;
  readStore: ReadStore;
  audit: AuditLog;
  authenticate: (authorization: string | undefined) => Promise<Principal>;
  logger: Logger;
  /** How long a request with `minPosition` waits for the view to catch up; default 2000 ms. */
  waitMs?: number;
  /** The KPIs of `/v1/views/sales/kpis`; default `SALES_KPIS` of @crm/projections. */
  kpis?: readonly KpiQuery[];
}

/** The definition of a logical collection (`{view}/{collection}`) of a view. */
function collectionOf(view: ViewDefinition, logical: string): CollectionDefinition | undefined {
  return Object.values(view.collections).find((c) => c.name === logical);
}

export function viewRoutes(deps: ViewRoutesDeps): Router {
  const { reader, readStore, audit, authenticate, logger } = deps;
  const waitMs = deps.waitMs ?? DEFAULT_VIEW_WAIT_MS;
  const router = Router();

  /** The view's position, after waiting up to `waitMs` for `minPosition`; 503 view-behind when it is still short. */
  async function positionFor(view: string, minPosition: number | undefined): Promise<number> {
    let position = await reader.position(view);
    if (minPosition !== undefined && position < minPosition) {
      await reader.waitForPosition(view, minPosition, waitMs);
      position = await reader.position(view);
      if (position < minPosition) throw new ViewBehind(view, position, minPosition);
    }
    return position;
  }

  /** The read store's name of a logical collection; 503 view-behind (position 0) while the view is not built. */
  async function physicalName(view: string, logical: string): Promise<string> {
    const name = await reader.collectionName(view, logical);
    if (name === undefined) throw new ViewBehind(view, 0);
    return name;
  }

  const answer = (res: Response, position: number, body: Record<string, unknown>) => {
    res.setHeader(VIEW_POSITION_HEADER, String(position));
    // Answers may hold personal data: no shared or private cache may keep them.
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).json(body);
  };

  // Registered first, so it wins over /:view/:collection.
  router.get('/v1/views/sales/kpis', async (req, res) => {
    const principal = await authenticate(req.get('Authorization'));
    if (!principal.roles.includes(KPI_ROLE)) throw new Forbidden(`Only the ${KPI_ROLE} role may read the sales KPIs`);
    const params = parseKpiQuery(req.query as Record<string, unknown>);
    const view = reader.view('sales');
    if (!view) throw new UnknownView();
    const position = await positionFor(view.name, params.minPosition);

    const queries = deps.kpis ?? SALES_KPIS;
    const restrictions = reader.restrictions(view.name);
    const names = new Map<string, Promise<string>>();
    const results = await Promise.all(
      queries.map(async (kpi) => {
        const collection = collectionOf(view, kpi.collection);
        if (!collection) throw new Error(`KPI ${kpi.name} reads ${kpi.collection}, which the sales view does not declare`);
        // The KPIs are ours, but they pass the same allow-list as anyone's pipeline: a KPI
        // that touched a field management may not read, or a personal one, is a bug.
        const ctx: AccessContext = { view: view.name, collection, roles: principal.roles, blindIndex: (field, value) => reader.blindIndex(view.name, collection.name, field, value) };
        let pipeline;
        try {
          pipeline = checkPipeline(kpi.pipeline, parsePipeline(kpi.pipeline), ctx);
        } catch (error) {
          logger.error('KPI refused by the allow-list', { kpi: kpi.name, error: error instanceof Error ? error.name : typeof error });
          throw new Error(`KPI ${kpi.name} does not pass the allow-list`);
        }
        if (!names.has(kpi.collection)) names.set(kpi.collection, physicalName(view.name, kpi.collection));
        const restriction = restrictionFilter(collection, await restrictions);
        const rows = await readStore.aggregate(await names.get(kpi.collection)!, pipelineWithRestrictions(pipeline, restriction));
        return [kpi.name, kpi.shape(rows)] as const;
      }),
    );
    answer(res, position, { position, kpis: Object.fromEntries(results) });
  });

  router.get('/v1/views/:view/:collection', async (req, res) => {
    const principal = await authenticate(req.get('Authorization'));
    const view = reader.view(req.params.view as string);
    const logical = `${req.params.view as string}/${req.params.collection as string}`;
    const collection = view && collectionOf(view, logical);
    if (!view || !collection) throw new UnknownView();
    assertMayUseCollection(collection, principal.roles);

    const query = parseViewQuery(req.query as Record<string, unknown>);
    const ctx: AccessContext = {
      view: view.name,
      collection,
      roles: principal.roles,
      blindIndex: (field, value) => reader.blindIndex(view.name, collection.name, field, value),
    };
    // Every check and rewrite before the store is touched: a refused query reads nothing.
    const filter = query.filter && filterToMongo(checkFilter(query.filter, ctx));
    if (query.sort) checkSort(query.sort, ctx);
    const pipeline = query.pipeline && checkPipeline(query.pipeline.raw, query.pipeline.stages, ctx);

    const position = await positionFor(view.name, query.minPosition);
    const physical = await physicalName(view.name, collection.name);
    // Restricted subjects (Art. 18) leave every answer until the restriction is lifted.
    const restriction = restrictionFilter(collection, await reader.restrictions(view.name));

    if (pipeline) {
      // Aggregations group and sum plain readable fields only (checkPipeline): no personal value, nothing to audit.
      const results = await readStore.aggregate(physical, pipelineWithRestrictions(pipeline, restriction));
      logger.debug('view aggregated', { view: view.name, collection: collection.name, rows: results.length });
      answer(res, position, { view: view.name, collection: collection.name, position, results });
      return;
    }

    const visible = withRestrictions(filter, restriction);
    const page = await readStore.find(physical, {
      ...(visible ? { filter: visible } : {}),
      ...(query.sort ? { sort: query.sort } : {}),
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    const personal = readablePersonalFields(collection, principal.roles);
    // Only documents with a personal value the caller may read are opened.
    const documents: Document[] = await Promise.all(
      page.documents.map((d) => (personal.length > 0 && holdsReadablePersonalValue(d, personal) ? reader.open(view.name, collection.name, d) : d)),
    );
    const items = documents.map((d) => projectDocument(d, collection, principal.roles));
    const disclosing = documents.filter((_, i) => holdsReadablePersonalValue(items[i]!, personal));

    if (disclosing.length > 0) {
      const entry = viewReadEntry({
        principal,
        view: view.name,
        collection: collection.name,
        purpose: query.purpose ?? view.purpose,
        subjectIds: subjectIdsOf(documents, personal),
        count: items.length,
      });
      try {
        await audit.record(entry);
      } catch (error) {
        logger.error('audit record failed; personal data withheld', {
          view: view.name,
          collection: collection.name,
          error: error instanceof Error ? error.name : typeof error,
        });
        throw new AuditUnavailable();
      }
    }
    logger.debug('view read', { view: view.name, collection: collection.name, count: items.length, audited: disclosing.length > 0 });
    answer(res, position, {
      view: view.name,
      collection: collection.name,
      position,
      items,
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    });
  });

  // Temporary refusals say when to come back, and where the view stands.
  const retryHints: ErrorRequestHandler = (error, _req, res, next) => {
    if (error instanceof ViewBehind) {
      res.setHeader('Retry-After', '1');
      res.setHeader(VIEW_POSITION_HEADER, String(error.position));
    } else if (error instanceof AuditUnavailable) {
      res.setHeader('Retry-After', '1');
    }
    next(error);
  };
  router.use(retryHints);
  return router;
}
