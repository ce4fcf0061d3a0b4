"""Use cases: what a user or the system can ask for, with permissions checked through domain/.

Each function takes an open ``AsyncSession`` and leaves committing to the caller unless it
says otherwise. Must not import web/.
"""
