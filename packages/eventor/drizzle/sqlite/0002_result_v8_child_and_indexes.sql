DROP INDEX `triggers_source_idx`;--> statement-breakpoint
CREATE INDEX `triggers_source_ord_idx` ON `triggers` (`run_id`,`source_step`,`source_sequence`,`recovery`,`ord`) WHERE source_step IS NOT NULL;--> statement-breakpoint
ALTER TABLE `tasks` ADD `result_v8` blob;--> statement-breakpoint
ALTER TABLE `tasks` ADD `child` text;--> statement-breakpoint
CREATE INDEX `tasks_child_idx` ON `tasks` (`run_id`) WHERE child IS NOT NULL;--> statement-breakpoint
CREATE INDEX `runs_name_started_idx` ON `runs` (`name`,`started_at`);