ALTER TABLE `tasks` ADD `child` text;--> statement-breakpoint
CREATE INDEX `tasks_child_idx` ON `tasks` (`run_id`) WHERE child IS NOT NULL;