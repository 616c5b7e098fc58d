/** The image routes of the API: upload (streamed to a temporary file), fit check, delete. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AirflashError, isAirflashError } from '../core/errors.ts';
import type { ApiContext } from './api.ts';
import { HttpError, sendJson } from './http.ts';
import { cleanName, view as imageView } from './images.ts';
import type { DashboardLibrary } from './lib.ts';

/** Image magic bytes we accept as "a firmware file at all": ESP app (0xE9), gzip (ESP8266). */
function looksLikeFirmware(bytes: Uint8Array): boolean {
  return bytes[0] === 0xe9 || (bytes[0] === 0x1f && bytes[1] === 0x8b);
}

export async function addImage(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/octet-stream') {
    req.resume();
    throw new AirflashError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the firmware file as the raw body with Content-Type: application/octet-stream.',
    );
  }
  const rawName = req.headers['x-filename'];
  let name = url.searchParams.get('name') ?? undefined;
  if (typeof rawName === 'string') {
    try {
      name = decodeURIComponent(rawName);
    } catch {
      name = rawName;
    }
  }
  // Streamed to a temporary file: many large uploads at once do not pile up in memory.
  const file = await ctx.images.receive(req, ctx.maxImageBytes);
  let summary: ReturnType<DashboardLibrary['inspect']>;
  try {
    if (file.size === 0) throw new AirflashError('IMAGE_EMPTY', 'The file is empty.');
    if (!looksLikeFirmware(file.head)) {
      throw new AirflashError(
        'NOT_FIRMWARE',
        'This file is not an ESP firmware image (it starts with neither 0xE9 nor a gzip header).',
        {
          hint: 'Pick the .bin your build produced (PlatformIO: .pio/build/<env>/firmware.bin; Arduino IDE: Sketch > Export compiled binary).',
        },
      );
    }
    summary = await ctx.images.withBytes(file.path, (bytes) => {
      try {
        return ctx.lib.inspect(bytes);
      } catch (error) {
        if (isAirflashError(error))
          throw new HttpError(422, error.code, error.message, {
            ...(error.hint === undefined ? {} : { hint: error.hint }),
            cause: error,
          });
        throw error;
      }
    });
  } catch (error) {
    await ctx.images.discard(file);
    throw error;
  }
  const image = ctx.images.add(file, cleanName(name), summary, ctx.jobs.imagesInUse());
  sendJson(res, 201, { image: imageView(image) });
}

/** `GET /images/:id?devices=a,b`: the pre-flight of the image against each device. */
export async function imageFit(ctx: ApiContext, res: ServerResponse, id: string, url: URL): Promise<void> {
  const image = ctx.images.get(id);
  if (image === undefined) throw new AirflashError('NOT_FOUND', `No image "${id}"; upload it again.`);
  const wanted = (url.searchParams.get('devices') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const fit = await ctx.images.withBytes(image.path, (bytes) =>
    wanted.map((deviceId) => {
      const device = ctx.registry.get(deviceId);
      if (device === undefined) {
        return {
          device: deviceId,
          name: deviceId,
          verdict: 'refuse',
          code: 'NOT_FOUND',
          message: 'No such device.',
          slotSize: null,
        };
      }
      return {
        device: deviceId,
        name: device.name,
        ...ctx.lib.fit(bytes, image.summary, ctx.registry.target(deviceId), image.name),
      };
    }),
  );
  sendJson(res, 200, { image: imageView(image), fit });
}

/** `DELETE /images/:id`: forget it and remove its file. */
export function deleteImage(ctx: ApiContext, res: ServerResponse, id: string): void {
  if (!ctx.images.delete(id, ctx.jobs.imagesInUse())) {
    throw new AirflashError('NOT_FOUND', `No image "${id}".`);
  }
  sendJson(res, 200, { removed: id });
}
