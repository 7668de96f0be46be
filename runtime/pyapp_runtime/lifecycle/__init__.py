"""Operations that change an installed app, each one journaled: install and update, rollback,
removal, backup and restore, configuration and service changes, and the hooks they run."""
