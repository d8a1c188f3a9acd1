DROP TABLE fang_tasks;
