CREATE TABLE `delays` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` text NOT NULL,
	`recovery` integer NOT NULL,
	`assoc` text NOT NULL,
	`sequence` text NOT NULL,
	`due_at` integer NOT NULL,
	`fired` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `delays_unique_idx` ON `delays` (`run_id`,`assoc`,`sequence`,`recovery`);--> statement-breakpoint
CREATE INDEX `delays_pending_idx` ON `delays` (`run_id`,`recovery`,`fired`,`due_at`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`mode` text NOT NULL,
	`recovery` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`ended_at` integer,
	`lease_pid` integer,
	`lease_host` text,
	`lease_token` text,
	`shape` text,
	`open_from` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `runs_started_idx` ON `runs` (`started_at`);--> statement-breakpoint
CREATE TABLE `tasks` (
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
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_key_idx` ON `tasks` (`run_id`,`step`,`sequence`,`recovery`);--> statement-breakpoint
CREATE TABLE `triggers` (
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
);
--> statement-breakpoint
CREATE INDEX `triggers_unacted_idx` ON `triggers` (`run_id`,`recovery`) WHERE acted = 0;--> statement-breakpoint
CREATE INDEX `triggers_source_idx` ON `triggers` (`run_id`,`source_step`,`source_sequence`,`recovery`) WHERE source_step IS NOT NULL;