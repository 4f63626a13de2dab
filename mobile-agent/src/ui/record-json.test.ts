import { recordJson, SHOWN_DATA_LIMIT } from './record-json';

describe('recordJson', () => {
  it('names long attachment data by its size and keeps everything else', () => {
    const long = Buffer.alloc(3000, 'a').toString('base64');
    const resource = {
      resourceType: 'DocumentReference',
      content: [{ attachment: { contentType: 'text/plain', data: long, title: 'note.txt' } }],
    };
    const shown = JSON.parse(recordJson(resource));
    expect(shown.content[0].attachment).toEqual({
      contentType: 'text/plain',
      data: '[2.9 KB of data, left out here; the FHIR download has it whole]',
      title: 'note.txt',
    });
  });

  it('keeps short data, and counts characters of data that is not base64', () => {
    const short = 'a'.repeat(SHOWN_DATA_LIMIT);
    expect(JSON.parse(recordJson({ resourceType: 'Binary', data: short })).data).toBe(short);
    expect(JSON.parse(recordJson({ resourceType: 'Binary', data: '*'.repeat(2000) })).data).toBe(
      '[2000 characters of data, left out here; the FHIR download has it whole]',
    );
  });
});
