CREATE TABLE g (id INT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '4');
CREATE TABLE evens (id INT) WITH ('connector' = 'print', 'print-identifier' = 'even');
CREATE TABLE odds (id INT, half DOUBLE) WITH ('connector' = 'print');
CREATE TABLE nothing (id INT) WITH ('connector' = 'blackhole');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO evens SELECT id FROM g WHERE MOD(id, 2) = 0;
  INSERT INTO odds SELECT id, id / 2.0 FROM g WHERE MOD(id, 2) = 1;
  INSERT INTO nothing SELECT id FROM g;
END;
