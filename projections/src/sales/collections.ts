/** The logical names of the sales view's collections (a module of its own so the KPI queries can name them). */
export const SALES_COLLECTIONS = {
  customers: 'sales/customers',
  contacts: 'sales/contacts',
  deals: 'sales/deals',
  marketingLists: 'sales/marketing-lists',
} as const;
