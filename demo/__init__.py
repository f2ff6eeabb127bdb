"""The demo tenant and its history, seeded by ``manage.py seed_demo``.

Sits above ``desk`` in the layers: it may import from every domain app (tenants,
crm, catalog) and nothing imports from it. It writes CRM rows through crm's
services where one does the job, and directly where the demo needs what no service
offers (backdated timestamps, opportunities with a given status).
"""
