-- Custom migration (drizzle-kit generate --custom): drizzle cannot declare WITHOUT ROWID tables
-- (drizzle-orm#408). triggers and tasks are keyed by their natural primary key; as WITHOUT ROWID
-- tables the key is the table itself, so a commit of the run loop writes no separate key B-tree.
-- Columns, keys and indexes stay as schema.ts declares them (DROP TABLE drops the old indexes).
CREATE TABLE `__new_triggers` (
	`run_id` text NOT NULL,
	`recovery` integer NOT NULL,
	`sequence` text NOT NULL,
	`event` text NOT NULL,
	`ord` integer NOT NULL,
	`acted` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`source_step` text,
	`source_sequence` text,
	PRIMARY KEY(`run_id`, `recovery`, `sequence`, `event`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_triggers` SELECT `run_id`, `recovery`, `sequence`, `event`, `ord`, `acted`, `created_at`, `source_step`, `source_sequence` FROM `triggers`;
--> statement-breakpoint
DROP TABLE `triggers`;
--> statement-breakpoint
ALTER TABLE `__new_triggers` RENAME TO `triggers`;
--> statement-breakpoint
CREATE INDEX `triggers_unacted_idx` ON `triggers` (`run_id`,`recovery`) WHERE acted = 0;
--> statement-breakpoint
CREATE INDEX `triggers_source_idx` ON `triggers` (`run_id`,`source_step`,`source_sequence`,`recovery`) WHERE source_step IS NOT NULL;
--> statement-breakpoint
CREATE TABLE `__new_tasks` (
	`run_id` text NOT NULL,
	`ord` integer NOT NULL,
	`step` text NOT NULL,
	`sequence` text NOT NULL,
	`recovery` integer NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`result` text,
	`error` text,
	`skipped` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`run_id`, `ord`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_tasks` SELECT `run_id`, `ord`, `step`, `sequence`, `recovery`, `status`, `attempts`, `result`, `error`, `skipped`, `created_at`, `updated_at` FROM `tasks`;
--> statement-breakpoint
DROP TABLE `tasks`;
--> statement-breakpoint
ALTER TABLE `__new_tasks` RENAME TO `tasks`;
--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_key_idx` ON `tasks` (`run_id`,`step`,`sequence`,`recovery`);
