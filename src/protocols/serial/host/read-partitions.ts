import { AirflashError } from '../../../core/errors.ts';
import { APP_DESC_MAGIC, bootSlotFromOtadata, OTADATA_SIZE, usableOtaSlots } from '../../../formats/index.ts';
import { decodePartitionTable } from '../../../formats/partitions/binary.ts';
import type { PartitionTable } from '../../../formats/partitions/types.ts';
import { type ChipInfo, readChipInfo } from './chip-info.ts';
import { type SerialOptions, withSession } from './connect.ts';

/** What one app partition on the board holds. */
interface AppSlotContent {
  name: string;
  offset: number;
  size: number;
  /** An image header (0xE9) is at the start of the slot. */
  hasImage: boolean;
  projectName?: string;
  version?: string;
}

interface BoardPartitions {
  port: string;
  chip: ChipInfo;
  /** The table as read at 0x8000 (0xC00 bytes). */
  tableBytes: Uint8Array;
  table: PartitionTable;
  /** The otadata partition's bytes, when the table has one. */
  otadata?: Uint8Array;
  /** The OTA slot the bootloader picks from otadata (undefined: blank otadata → the first app). */
  bootSlot?: string;
  apps: AppSlotContent[];
  /** "running from app1; app0 holds the image before it (blink 1.0)". */
  summary: string;
}

const TABLE_OFFSET = 0x8000;
const TABLE_SIZE = 0xc00;

/**
 * Project name and version from the app descriptor (esp_app_desc_t) at 0x20, the start of the
 * first segment's data: magic, then version at +16 and project_name at +48 (32 bytes each).
 */
function appNames(head: Uint8Array): { projectName?: string; version?: string } {
  if (head.length < 0x20 + 80) return {};
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (v.getUint32(0x20, true) !== APP_DESC_MAGIC) return {};
  const text = (at: number): string => {
    const field = head.subarray(at, at + 32);
    const nul = field.indexOf(0);
    return new TextDecoder().decode(nul === -1 ? field : field.subarray(0, nul));
  };
  const version = text(0x20 + 16);
  const projectName = text(0x20 + 48);
  return { ...(projectName ? { projectName } : {}), ...(version ? { version } : {}) };
}

const label = (a: AppSlotContent): string =>
  a.projectName ? ` (${a.projectName}${a.version ? ` ${a.version}` : ''})` : '';

/** The words for what the board boots and what the other slots hold. */
function explain(apps: readonly AppSlotContent[], bootSlot: string | undefined): string {
  const withImage = apps.filter((a) => a.hasImage);
  if (withImage.length === 0) return 'no app partition holds an image: flash one over serial first';
  const running =
    (bootSlot ? apps.find((a) => a.name === bootSlot && a.hasImage) : undefined) ?? withImage[0];
  const r = running as AppSlotContent;
  const parts = [
    `running from ${r.name}${label(r)}${bootSlot ? '' : ' (otadata blank: the first app with an image)'}`,
  ];
  for (const a of apps) {
    if (a === r) continue;
    parts.push(a.hasImage ? `${a.name} holds the image before it${label(a)}` : `${a.name} is empty`);
  }
  return parts.join('; ');
}

/** Read the partition table and otadata off the board and say what it boots. ESP32 family only. */
async function readPartitionsSerial(options: SerialOptions): Promise<BoardPartitions> {
  return withSession(options, async (s) => {
    const chip = await readChipInfo(s);
    if (chip.family !== 'esp32')
      throw new AirflashError(
        'BAD_ARGUMENT',
        `The ${chip.chip} has no partition table (an ESP8266 uses a fixed flash layout).`,
        {
          hint: 'airflash chip shows its flash size; the layout comes from the build (e.g. 4M2M).',
        },
      );
    const tableBytes = await s.loader.readFlash(TABLE_OFFSET, TABLE_SIZE);
    let table: PartitionTable;
    try {
      table = decodePartitionTable(tableBytes);
    } catch (error) {
      throw new AirflashError('PARTITION_TABLE', 'The board has no valid partition table at 0x8000.', {
        hint: 'Flash a bootloader, a partition table and an app (airflash flash --env NAME), or a merged image.',
        cause: error,
      });
    }
    const od = table.entries.find((e) => e.type === 1 && e.subtype === 0x00);
    const otadata = od ? await s.loader.readFlash(od.offset, Math.min(od.size, OTADATA_SIZE)) : undefined;
    const slots = usableOtaSlots(table);
    const bootIndex =
      otadata && otadata.length >= OTADATA_SIZE
        ? bootSlotFromOtadata(otadata, slots.length, { rollback: true })
        : undefined;
    const bootSlot = bootIndex === undefined ? undefined : slots[bootIndex]?.name;
    const apps: AppSlotContent[] = [];
    for (const e of table.entries.filter((x) => x.type === 0)) {
      const head = await s.loader.readFlash(e.offset, Math.min(e.size, 0x1000));
      const app: AppSlotContent = {
        name: e.name,
        offset: e.offset,
        size: e.size,
        hasImage: head[0] === 0xe9,
      };
      if (app.hasImage) Object.assign(app, appNames(head));
      apps.push(app);
    }
    return {
      port: s.path,
      chip,
      tableBytes,
      table,
      ...(otadata ? { otadata } : {}),
      ...(bootSlot ? { bootSlot } : {}),
      apps,
      summary: explain(apps, bootSlot),
    };
  });
}

export { type AppSlotContent, type BoardPartitions, readPartitionsSerial };
